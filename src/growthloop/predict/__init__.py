"""Predictions (预测分析): CLV models, churn and purchase propensity, a model registry.

Subpackages: ``clv`` (BG/NBD, Pareto/NBD, Gamma-Gamma), ``tabular`` (classifiers trained on a
labelled customer table), ``registry`` (versioned models with their metadata).
"""
