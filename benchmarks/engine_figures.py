"""The engine's headline figures: digits accuracy, time of one digits epoch, gradient-check errors.

Run: ``.venv/bin/python benchmarks/engine_figures.py``
"""

import time

import numpy as np

import lrcourse
from lrcourse.gradcheck import check_gradients


def main():
    (X, y), (X_val, y_val), _ = lrcourse.data.digits(rng=0)
    model = lrcourse.mlp([64, 64, 10], rng=0)
    start = time.perf_counter()
    history = lrcourse.fit(model, lrcourse.SoftmaxCrossEntropy(), lrcourse.SGD(model.parameters(), lr=0.1),
                           X, y, epochs=30, validation_data=(X_val, y_val), rng=0)
    per_epoch = (time.perf_counter() - start) / 30
    print(f"digits, mlp([64, 64, 10]), SGD(lr=0.1), 30 epochs, rng=0: "
          f"val accuracy {history.history['val_accuracy'][-1]:.4f}; "
          f"{per_epoch * 1000:.1f} ms per epoch (batch 32, validation included)")

    rng = np.random.default_rng(0)
    X_small = rng.normal(size=(6, 4))
    for activation in ("relu", "leaky_relu", "sigmoid", "tanh"):
        for name, loss, target in (("cross-entropy", lrcourse.SoftmaxCrossEntropy(), rng.integers(0, 3, 6)),
                                   ("mse", lrcourse.MeanSquaredError(), rng.normal(size=(6, 3)))):
            model = lrcourse.mlp([4, 5, 5, 3], activation=activation, rng=1, dtype=np.float64)
            errors = check_gradients(model, loss, X_small, target)
            print(f"gradient check, {activation:10s} {name:13s}: worst relative error {max(errors.values()):.1e}")


if __name__ == "__main__":
    main()
