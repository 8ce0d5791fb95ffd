#!/usr/bin/python3
"""Writes scikit-learn's breast-cancer table (Wisconsin Diagnostic, 569 patients, 30 image measurements; from Debian's
python3-sklearn) as a CSV a site might start from, and prints scikit-learn's own 5-fold ROC-AUC for a standardised
logistic regression on the same table: the figure HealthRec's cross-validation is compared with.

usage: export.py OUT.csv [--seed S]
"""
import csv
import json
import sys

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main():
    out = sys.argv[1]
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 1
    data = load_breast_cancer()
    # scikit-learn's target is 0 = malignant, 1 = benign; the table says it in words, as a pathology extract would.
    with open(out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", *data.feature_names, "diagnosis"])
        for i, (row, target) in enumerate(zip(data.data, data.target)):
            writer.writerow([f"bc-{i + 1}", *[repr(float(v)) for v in row], "malignant" if target == 0 else "benign"])
    malignant = (data.target == 0).astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    scores = cross_val_score(model, data.data, malignant, cv=folds, scoring="roc_auc")
    print(json.dumps({"rows": int(len(data.target)), "malignant": int(malignant.sum()),
                      "logistic_auc_mean": float(scores.mean()), "logistic_auc_folds": [float(s) for s in scores]}))


if __name__ == "__main__":
    main()
