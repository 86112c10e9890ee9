"""Start one submission's runner in a sandbox, and stop it and everything it started.

The sandbox is bubblewrap (``bwrap``, Debian package ``bubblewrap``): new PID, network, IPC and UTS
namespaces; a root file system that holds only read-only binds of ``/usr``, a few files of ``/etc``,
Python's installation and environment and the ``lrcourse`` package, with the question definitions
(:mod:`lrcourse.grading.questions`, the references) hidden under an empty folder; a private ``/tmp``
(``$HOME`` is in it) of bounded size; and ``BOX``, the only writable folder, bound at ``/box``. No
network at all (only a loopback of its own, which the kernel needs). Resource limits (address space,
processes, CPU time, file size) are set on the sandbox's first process and inherited by all; ``/tmp``
and ``/dev/shm`` are bounded tmpfs; the disk used in ``BOX`` is watched by the grader (:func:`disk_use`),
which kills a sandbox that fills it.

Run as root, bwrap builds the sandbox with root's rights (no user namespace needed) and the runner
drops to a user id of its own (``setpriv``), so the process limit counts only that submission's
processes and no file outside the sandbox is the runner's own. Run as another user, bwrap needs
unprivileged user namespaces, and the process limit is set inside the sandbox's own user namespace
(Linux counts processes per user namespace since 5.14): set outside, on the user's shared count,
a fork bomb in one sandbox left a submission graded beside it unable to start its kernel.

Everything inside dies with the sandbox's PID namespace: killing bwrap (the grader's child) kills the
namespace's init (``--die-with-parent``) and with it every process a notebook started, daemons and
``start_new_session=True`` included.

Where bwrap is missing or cannot create namespaces (a container without user namespaces, Binder),
:func:`probe` says why and the grader can run the runner unsandboxed (rlimits, own session and
``$HOME`` only): good enough for a student checking their own work, not for other people's.
"""

import functools
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
from pathlib import Path

__all__ = ["Limits", "probe", "start", "kill", "disk_use"]

ETC_FILES = ("ld.so.cache", "ld.so.conf", "localtime", "passwd", "group", "nsswitch.conf", "hosts",
             "mime.types")
BOX = "/box"
HOME = "/tmp/home"


class Limits:
    """Resource limits of one sandbox (every process in it inherits them)."""

    def __init__(self, cpu_seconds, memory_bytes=2 << 30, processes=128, file_bytes=64 << 20,
                 tmp_bytes=256 << 20, box_bytes=256 << 20, box_entries=10_000):
        self.cpu_seconds = int(cpu_seconds)    # CPU time of each process
        self.memory_bytes = int(memory_bytes)  # address space of each process
        self.processes = int(processes)        # processes and threads of the sandbox's user
        self.file_bytes = int(file_bytes)      # largest file it may write
        self.tmp_bytes = int(tmp_bytes)        # size of its private /tmp (and $HOME), and of /dev/shm
        self.box_bytes = int(box_bytes)        # disk it may fill in its folder (watched from outside)
        self.box_entries = int(box_entries)    # files and folders it may make there

    def apply(self, processes_base=0):
        """Set the limits on this process (in the child, before exec); the process limit only when
        ``processes_base`` is not None (else it is set inside the sandbox, see :func:`bwrap_command`)."""
        limits = [(resource.RLIMIT_CPU, self.cpu_seconds), (resource.RLIMIT_AS, self.memory_bytes),
                  (resource.RLIMIT_FSIZE, self.file_bytes), (resource.RLIMIT_CORE, 0)]
        if processes_base is not None:
            limits.append((resource.RLIMIT_NPROC, processes_base + self.processes))
        for name, value in limits:
            resource.setrlimit(name, (value, value))


# Run first inside a sandbox made by another user than root: the process limit, set in the sandbox's
# own user namespace, then the runner. ``python -c`` gives sys.argv = ["-c", limit, *command].
_LIMIT_PROCESSES = ("import os, resource, sys; limit = int(sys.argv[1]); "
                    "resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit)); os.execvp(sys.argv[2], sys.argv[2:])")


def _package_dirs():
    """The lrcourse package folder, and every question definitions folder the sandbox could reach (the
    one imported here, and any other copy of lrcourse on the path, an installed one say): hidden."""
    from . import questions

    package = Path(__file__).resolve().parent.parent
    hidden = {Path(questions.__file__).resolve().parent}
    for entry in sys.path:
        candidate = Path(entry or ".") / "lrcourse" / "grading" / "questions"
        if candidate.is_dir():
            hidden.add(candidate.resolve())
    return package, sorted(hidden)


def _python_dirs():
    """Folders the Python running this needs: its environment, its base installation, its executable."""
    dirs = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), Path(sys.base_exec_prefix),
            Path(sys.executable).resolve().parent.parent}
    return sorted(d for d in dirs if str(d) not in ("/", "/usr"))


def _root_binds():
    """bwrap arguments for the read-only system part of the file system."""
    args = []
    for name in ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def bwrap_command(box, argv, env, limits, uid=None):
    """The bwrap command line that runs ``argv`` with ``env`` in a sandbox writing only to ``box``
    (as user ``uid`` when run as root)."""
    package, questions = _package_dirs()
    cmd = ["bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net", "--unshare-ipc",
           "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
    if os.geteuid() != 0:
        cmd += ["--unshare-user", "--disable-userns"]
    # The private /tmp first: binds made after it stay visible, also when the environment or the course
    # itself lives under /tmp (a CI checkout, say); a /tmp mounted after them would hide them.
    cmd += ["--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--size", str(limits.tmp_bytes),
            "--tmpfs", "/tmp", "--perms", "0777", "--dir", HOME, "--perms", "1777", "--size", str(limits.tmp_bytes),
            "--tmpfs", "/dev/shm"]
    bound = [*_python_dirs(), package]
    # bwrap makes missing parents of a mount point readable by root only; the runner's user must pass.
    parents = sorted({Path("/etc")} | {parent for path in bound for parent in path.parents
                                       if parent not in (Path("/"), Path("/tmp"))},
                     key=lambda p: len(p.parts))
    for parent in parents:
        cmd += ["--perms", "0755", "--dir", str(parent)]
    cmd += _root_binds()
    for path in _python_dirs():
        cmd += ["--ro-bind", str(path), str(path)]
    cmd += ["--ro-bind", str(package), str(package)]
    for folder in questions:
        cmd += ["--tmpfs", str(folder), "--remount-ro", str(folder)]
    cmd += ["--bind", str(box), BOX, "--chdir", BOX, "--clearenv"]
    for name, value in env.items():
        cmd += ["--setenv", name, value]
    if uid is not None:
        argv = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", "--", *argv]
    else:
        argv = [sys.executable, "-c", _LIMIT_PROCESSES, str(limits.processes), *argv]
    return cmd + ["--", *argv]


def _sandbox_uid():
    """A user id no one else uses, so the process limit counts this sandbox's processes only."""
    return 1_000_000_000 + secrets.randbelow(1_000_000_000)


def sandbox_env(extra=None):
    """The environment of a sandboxed runner and its kernel: nothing inherited but a few settings."""
    package, _ = _package_dirs()
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": HOME, "TMPDIR": "/tmp",
           "PYTHONPATH": str(package.parent),  # lrcourse, also when it is not installed
           "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1",
           "PYDEVD_DISABLE_FILE_VALIDATION": "1", "JUPYTER_PLATFORM_DIRS": "1"}
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = os.environ.get(name, "1")  # several notebooks are graded side by side
    for name in ("OPENBLAS_CORETYPE", "PYTHONHASHSEED"):
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(extra or {})
    return env


def _user_processes():
    """How many processes and threads this user runs now (what RLIMIT_NPROC counts)."""
    uid, count = os.getuid(), 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.stat(f"/proc/{pid}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{pid}/task"))
            except OSError:
                pass
    return count


@functools.lru_cache(maxsize=None)
def probe():
    """None when a sandbox can be made here, else the reason it cannot (checked once per process)."""
    if shutil.which("bwrap") is None:
        return "bwrap (bubblewrap) is not installed"
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return "setpriv (util-linux) is not installed"
    import tempfile

    with tempfile.TemporaryDirectory(prefix="lrcourse-probe-") as box:
        os.chmod(box, 0o777)
        cmd = bwrap_command(box, [sys.executable, "-c", "open('/box/ok', 'w').write('ok')"], sandbox_env(),
                            Limits(cpu_seconds=60), uid=_sandbox_uid() if os.geteuid() == 0 else None)
        try:
            done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bwrap could not be run ({exc})"
        if done.returncode != 0 or not (Path(box) / "ok").exists():
            error = done.stderr.decode(errors="replace").strip().splitlines()
            return f"bwrap cannot create a sandbox here ({error[-1] if error else f'exit code {done.returncode}'})"
    return None


def start(box, argv, *, sandboxed, limits, stdout, env_extra=None):
    """Start ``argv`` (the runner) writing only to ``box``; returns the ``Popen``.

    Sandboxed, ``box`` becomes ``/box`` inside and must be writable by the sandbox's user (it is made so
    here). Unsandboxed, the command runs in ``box`` in a session of its own, with the same limits and
    ``$HOME`` in ``box/../home``.
    """
    box = Path(box)
    if sandboxed:
        uid, base = None, None  # not root: the process limit is set inside (bwrap_command)
        if os.geteuid() == 0:
            uid, base = _sandbox_uid(), 0
            os.chown(box, uid, uid)
        cmd = bwrap_command(box, argv, sandbox_env(env_extra), limits, uid)
        box.chmod(0o700)
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=lambda: limits.apply(base))
    home = box.parent / "home"
    home.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.update(sandbox_env(env_extra), HOME=str(home), TMPDIR=str(home), PATH=os.environ.get("PATH", ""))
    package, _ = _package_dirs()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(package.parent), os.environ.get("PYTHONPATH", "")) if p)
    base = _user_processes()
    return subprocess.Popen(argv, cwd=box, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=lambda: limits.apply(base))


def disk_use(folder, max_entries):
    """Bytes of disk the files under ``folder`` take (symlinks not followed), or None when there are more
    than ``max_entries`` files and folders (a walk that long is itself the problem)."""
    total, count = 0, 0
    for _, dirs, files, root_fd in os.fwalk(folder, follow_symlinks=False):
        for name in dirs + files:
            count += 1
            if count > max_entries:
                return None
            try:
                total += os.stat(name, dir_fd=root_fd, follow_symlinks=False).st_blocks * 512
            except OSError:
                pass
    return total


def kill(process):
    """Kill ``process`` and its session (sandboxed: its whole PID namespace dies with it) and reap it."""
    for target in (lambda: os.killpg(process.pid, signal.SIGKILL), process.kill):
        try:
            target()
        except (ProcessLookupError, PermissionError):
            pass
    process.wait()
