# Start-up file for the terminals of `make course`'s JupyterLab (bash --rcfile): the user's own
# ~/.bashrc first, then the course's environment, so that `python` and `jupyter` are the course's
# ones (lesson 00's grading command runs as written) whatever the user's shell set up.
if [ -f "$HOME/.bashrc" ]; then
    . "$HOME/.bashrc"
fi
course_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -f "$course_root/.venv/bin/activate" ]; then
    . "$course_root/.venv/bin/activate"
fi
cd "$course_root" || true
unset course_root
