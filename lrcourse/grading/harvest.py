"""Collecting a learner's answers inside a notebook kernel, as plain JSON the grader can read safely.

The grader sends the *source text* of this module into the kernel (so a notebook that patches
``lrcourse`` cannot change it) and calls :func:`harvest`, which calls the learner's function on every case
and writes one JSON line per case. Values travel as JSON, arrays as ``.npy`` bytes in base64; the grader
decodes them with ``allow_pickle=False``, so nothing the kernel writes can run code in the grader.

Only the standard library and numpy are used, and every import happens inside the functions: the module
must work when run with ``exec`` in a fresh namespace.

>>> import numpy as np
>>> value = (1, 2.5, None, "exp", [True], {"a": np.arange(3)})
>>> decoded = decode(encode(value))
>>> decoded[:5], decoded[5]["a"].tolist()
((1, 2.5, None, 'exp', [True]), [0, 1, 2])
"""

MAX_ARRAY_BYTES = 8_000_000  # answers are small; a bigger array is reported, not shipped
MAX_DEPTH = 20
MAX_ITEMS = 100_000  # in one list, tuple or dict


class Opaque:
    """A value the wire format cannot carry (a generator, a model...), kept as its type and repr."""

    def __init__(self, type_name, text):
        self.type_name, self.text = type_name, text

    def __repr__(self):
        return self.text

    def __eq__(self, other):
        return False

    __hash__ = None


def _opaque(value, why=""):
    try:
        text = repr(value)
    except Exception:
        text = "?"
    if len(text) > 200:
        text = text[:197] + "..."
    name = type(value).__name__
    return {"opaque": name, "repr": f"<{name}{': ' + why if why else ''} {text}>"}


def encode(value, depth=0):
    """``value`` as JSON-ready data (numbers, strings, None, numpy arrays, lists, tuples, dicts)."""
    import base64
    import io
    import numbers

    import numpy as np

    if depth > MAX_DEPTH:
        return _opaque(value, "nested too deep")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value)
    if isinstance(value, (numbers.Real, np.floating)):
        return {"float": repr(float(value))}  # repr keeps every bit, and NaN/inf stay valid JSON
    if isinstance(value, (list, tuple, dict)) and len(value) > MAX_ITEMS:
        return {"opaque": type(value).__name__, "repr": f"<a {type(value).__name__} of {len(value)} items, too long to grade>"}
    if isinstance(value, (list, tuple)):
        key = "list" if isinstance(value, list) else "tuple"
        return {key: [encode(v, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    if not isinstance(value, np.ndarray) and hasattr(value, "__array__"):
        try:
            value = np.asarray(value)
        except Exception:
            return _opaque(value)
    if isinstance(value, np.ndarray):
        numeric = value.dtype.kind in "biuf"
        if value.nbytes > MAX_ARRAY_BYTES or (not numeric and value.size > MAX_ITEMS):
            return {"opaque": "ndarray", "repr": f"<an array of shape {value.shape}, too large to grade>"}
        if not numeric:  # object arrays become lists; strings, dates... cannot be an answer here
            return {"list": [encode(v, depth + 1) for v in value.tolist()]} if value.dtype.kind == "O" else _opaque(value)
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(value), allow_pickle=False)
        return {"ndarray": base64.b64encode(buffer.getvalue()).decode("ascii")}
    return _opaque(value)


def decode(data):
    """The value :func:`encode` described (unknown values come back as :class:`Opaque`)."""
    import base64
    import io

    import numpy as np

    if data is None or isinstance(data, (bool, int, str)):
        return data
    if isinstance(data, float):
        return data
    if not isinstance(data, dict) or len(data) not in (1, 2):
        raise ValueError(f"not an encoded value: {str(data)[:80]}")
    if "float" in data:
        return float(data["float"])
    if "list" in data:
        return [decode(v) for v in data["list"]]
    if "tuple" in data:
        return tuple(decode(v) for v in data["tuple"])
    if "dict" in data:
        return {decode(k): decode(v) for k, v in data["dict"]}
    if "ndarray" in data:
        return np.load(io.BytesIO(base64.b64decode(data["ndarray"])), allow_pickle=False)
    if "opaque" in data:
        return Opaque(str(data["opaque"]), str(data.get("repr", "")))
    raise ValueError(f"not an encoded value: {str(data)[:80]}")


class CallTimeout(BaseException):
    """Raised inside the learner's function when it runs past the time limit (BaseException, so an
    ``except Exception`` in the learner's code does not swallow it)."""


def _error_text(exc):
    try:
        text = str(exc)
    except Exception:
        text = ""
    text = text if len(text) <= 300 else text[:297] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _call(function, args, kwargs, time_limit):
    """Call ``function`` with a time limit (SIGALRM where available) and describe what happened."""
    import signal
    import threading

    use_alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    previous = None
    if use_alarm:
        def on_alarm(signum, frame):
            raise CallTimeout()

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, time_limit)
    try:
        value = function(*args, **kwargs)
    except CallTimeout:
        return {"timeout": time_limit}
    except KeyboardInterrupt:  # the grader interrupts a cell that runs past its time limit
        return {"interrupted": True}
    except BaseException as exc:  # SystemExit too: it is the learner's doing
        return {"error": _error_text(exc)}
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    try:
        return {"value": encode(value)}
    except BaseException as exc:
        return {"error": "the returned value could not be read: " + _error_text(exc)}


def harvest(namespace, function_name, cases_path, answers_path, time_limit):
    """Call ``namespace[function_name]`` on every case in ``cases_path`` and write one JSON line per case
    to ``answers_path``; stop at the first error or time-out (that decides the question anyway)."""
    import json

    with open(cases_path, encoding="utf-8") as f:
        cases = [(decode(args), decode(kwargs)) for args, kwargs in json.load(f)]
    with open(answers_path, "w", encoding="utf-8") as out:
        def emit(record):
            out.write(json.dumps(record) + "\n")
            out.flush()

        function = namespace.get(function_name)
        if function is None:
            emit({"missing": True})
            return
        if not callable(function):
            emit({"not_callable": type(function).__name__})
            return
        emit({"found": True})
        for args, kwargs in cases:
            record = _call(function, list(args), dict(kwargs), time_limit)
            emit(record)
            if "value" not in record:
                return
