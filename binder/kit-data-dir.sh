# The image's data dir (prepared checkpoints), shared by postBuild and start: inside the environment, not in
# the home folder, so a hub's persistent home volume cannot hide it. A value set by the hub wins.
export KIT_DATA_DIR="${KIT_DATA_DIR:-${CONDA_DIR:-/srv/conda}/share/compression-kit/data}"
