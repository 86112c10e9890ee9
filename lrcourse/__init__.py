"""lrcourse: a small numpy neural-net engine for a hands-on course on learning rates.

>>> import lrcourse
>>> (X, y), _, _ = lrcourse.data.digits(rng=0)
>>> model = lrcourse.mlp([64, 32, 10], rng=0)
>>> history = lrcourse.fit(model, lrcourse.SoftmaxCrossEntropy(), lrcourse.SGD(model.parameters(), lr=0.1),
...                        X, y, epochs=2, rng=0)
>>> len(history.history["loss"])
2

``lrcourse.plot`` (matplotlib figures) is imported on first use, so ``import lrcourse`` stays light.
"""

from . import callbacks, data, gradcheck, landscapes, losses, nn, optim, rangetest, schedules, training
from .callbacks import Callback, EarlyStopping, ReduceLROnPlateau, TerminateOnNaN
from .liveplot import LivePlot
from .losses import MeanSquaredError, SoftmaxCrossEntropy, accuracy
from .nn import Dense, LeakyReLU, ReLU, Sequential, Sigmoid, Tanh, load, mlp, save
from .optim import SGD, Adagrad, Adam, RMSprop
from .rangetest import RangeTestResult, lr_range_test
from .sweep import sweep  # the function; `from lrcourse.sweep import SweepResult` still reaches the module
from .training import History, evaluate, fit, predict

__version__ = "0.1.0"


def __getattr__(name):
    # Plotting needs matplotlib; import it only when lrcourse.plot is first used.
    if name == "plot":
        import importlib

        return importlib.import_module(".plot", __name__)
    raise AttributeError(f"module 'lrcourse' has no attribute {name!r}")
