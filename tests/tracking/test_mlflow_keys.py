"""Labels become keys MLflow accepts (issue 24, item 4), checked against MLflow's own validation."""

import pytest

from parzen.tracking._keys import INDEX_SUFFIX, converted, is_valid_key, mlflow_keys

LABELS = ["lr", "model/depth", "a b", "x:y", "C(log)", "w+b", "w_b", "kernel?", "../up", "/root", "a//b", ".", "",
          "ü-ber", "tab\there", "α", "x" * 300, "x" * 246, "w*b"]  # fmt: skip


def mlflow_accepts(key):
    validation = pytest.importorskip("mlflow.utils.validation")
    try:
        validation._validate_param_name(key)
        validation._validate_length_limit("Param key", validation.MAX_ENTITY_KEY_LENGTH, key)
    except Exception:
        return False
    return True


@pytest.mark.parametrize("label", LABELS)
def test_our_rule_is_mlflows_rule(label):
    assert bool(is_valid_key(label)) == mlflow_accepts(label), label


def test_every_key_is_accepted_with_its_index_and_no_two_labels_share_one():
    keys = mlflow_keys(LABELS)
    assert set(keys) == set(LABELS)
    assert len(set(keys.values())) == len(LABELS)  # 'w+b', 'w*b' and the label 'w_b' stay apart
    for label, key in keys.items():
        assert mlflow_accepts(key) and mlflow_accepts(key + INDEX_SUFFIX) and mlflow_accepts("best." + key), label
    assert keys["lr"] == "lr" and keys["model/depth"] == "model/depth" and keys["w_b"] == "w_b"
    assert keys["C(log)"] == "C_log_" and keys["kernel?"] == "kernel_"
    assert {keys["w+b"], keys["w*b"]} == {"w_b_2", "w_b_3"}
    assert converted(keys)["C_log_"] == "C(log)" and "lr" not in converted(keys)


def test_the_same_space_maps_the_same_way_in_any_order():
    assert mlflow_keys(LABELS) == mlflow_keys(list(reversed(LABELS)))
