"""A bar written to a log (stderr not a terminal) becomes lines, not carriage-return redraws."""

import sys

import kit.progress as progress_module
from kit.progress import LogLines, progress, step_bar


def test_a_training_bar_writes_lines_to_a_log(monkeypatch, capsys):
    monkeypatch.setenv("KIT_PROGRESS", "auto")
    monkeypatch.delitem(sys.modules, "ipykernel.zmqshell", raising=False)
    monkeypatch.setattr(progress_module, "LOG_INTERVAL", 0.0)
    bar = step_bar(3, desc="demo")
    for step in range(3):
        bar.update(1)
        bar.set_postfix_str(f"loss {step}", refresh=False)
    bar.close()
    assert list(progress(range(2), total=2, desc="stage")) == [0, 1]
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = err.splitlines()
    assert any(line.startswith("demo:") and "3/3" in line for line in lines)
    assert any(line.startswith("stage:") for line in lines)


def test_log_lines_drop_blank_and_repeated_redraws():
    class Sink:
        text = ""

        def write(self, text):
            self.text += text

        def flush(self):
            pass

    sink = Sink()
    lines = LogLines(sink)
    for redraw in ["\rdemo 1/3", "\rdemo 1/3", "\r      \r", "\rdemo 2/3\x1b[A"]:
        lines.write(redraw)
    assert sink.text == "demo 1/3\ndemo 2/3\n"


def test_a_log_gets_at_most_one_line_per_interval(monkeypatch):
    from kit.progress import LOG_INTERVAL, log_arguments

    monkeypatch.delitem(sys.modules, "ipykernel.zmqshell", raising=False)
    arguments = log_arguments()   # pytest's captured stderr is not a terminal
    assert arguments["mininterval"] == arguments["maxinterval"] == LOG_INTERVAL   # tqdm's monitor adds none between
    assert isinstance(arguments["file"], LogLines)


def test_lines_mode_writes_lines_even_on_a_terminal(monkeypatch, capsys):
    """$KIT_PROGRESS=lines (what the grid's worker processes use): a bar is lines of text wherever stderr is."""
    monkeypatch.setattr(progress_module, "LOG_INTERVAL", 0.0)
    monkeypatch.setattr(progress_module, "stderr_is_a_log", lambda: False)   # as on a terminal
    monkeypatch.setenv("KIT_PROGRESS", "lines")
    bar = step_bar(3, desc="b0-labels-lr0_003-s1")
    for _ in range(3):
        bar.update(1)
    bar.close()
    err = capsys.readouterr().err
    assert "\r" not in err and any(line.startswith("b0-labels-lr0_003-s1:") and "3/3" in line
                                   for line in err.splitlines())
