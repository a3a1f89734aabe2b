"""``import parzen`` needs only the standard library: executors that run an objective
mentioning parzen may have numpy (it comes with pyspark's users) but not scipy."""

import pickle
import subprocess
import sys

import parzen


def imported_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_import_parzen_loads_no_third_party_module():
    assert not imported_after("import parzen") & {"numpy", "scipy", "pyspark", "cloudpickle", "tqdm"}


def test_status_constants_and_trial_resources_need_no_numpy():
    loaded = imported_after("import parzen; parzen.STATUS_OK; parzen.STATUS_FAIL; parzen.trial_resources()")
    assert not loaded & {"numpy", "scipy"}


def test_pyll_scope_needs_numpy_but_not_scipy():
    assert "scipy" not in imported_after("import parzen; parzen.pyll.scope.int; from parzen import hp, space_eval")


def test_every_public_name_resolves_and_fmin_is_the_function():
    import parzen.fmin  # the submodule of the same name must not replace the function

    for name in parzen.__all__:
        assert getattr(parzen, name) is not None, name
    assert callable(parzen.fmin) and parzen.fmin.__module__ == "parzen.driver.fmin"
    assert sorted(dir(parzen)) == sorted(set(dir(parzen)))


def test_the_package_pickles_by_reference():
    assert pickle.loads(pickle.dumps(parzen)) is parzen
