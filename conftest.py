"""Collection rules shared by every pytest run in this repository."""

# The jupytext sources of lessons and exercise solutions are notebooks, not modules: nbval checks the
# executed .ipynb built from each of them instead.
collect_ignore_glob = ["notebooks/*.py", "exercises/solutions/*.py"]
