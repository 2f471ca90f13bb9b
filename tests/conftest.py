"""Shared test set-up."""

import os

# LightGBM and XGBoost bring their own OpenMP runtime; beside scikit-learn's, a busy-waiting
# runtime slows HistGradientBoosting fits by an order of magnitude. Passive waiting avoids it.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
