"""Sphinx configuration of the course site, built from the executed chapters (python -m kit book)."""

project = "PyTorch compression, hands-on"
author = "The compression tutorial kit team"
copyright = "2026, " + author

# sphinx-mathjax-offline copies MathJax into _static/ and points mathjax_path there: formulas render in a
# classroom or on a train with no network (Sphinx's default loads MathJax from a CDN).
extensions = ["myst_nb", "sphinx-mathjax-offline"]
nb_execution_mode = "off"  # the chapters were executed by papermill; never run them again here
nb_output_stderr = "show"
myst_enable_extensions = ["dollarmath", "amsmath"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
suppress_warnings = ["mystnb.unknown_mime_type"]

html_theme = "sphinx_book_theme"
html_title = project
html_theme_options = {"show_toc_level": 2}

html_static_path = ["_static"]
html_css_files = ["course.css"]  # code and outputs up to 100 characters per line fit without scrolling
