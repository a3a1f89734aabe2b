"""hyperopt's main_plot_* with hyperopt's arguments: on matplotlib, and without it on plotly."""

import subprocess
import sys
import textwrap

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from parzen.plotting import main_plot_histogram, main_plot_history, main_plot_vars  # noqa: E402
from parzen.view import from_store  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_figure():
    plt.figure()
    yield
    plt.close("all")


def test_history_draws_every_trial_coloured_by_status_and_the_best_line(store):
    path, trials = store
    fig = main_plot_history(trials, do_show=False, status_colors={"ok": "b", "fail": "r"}, title="mine", bandit=None)
    ax = fig.axes[0]
    assert ax.get_title() == "mine" and ax.get_xlabel() == "trial number" and ax.get_ylabel() == "loss"
    assert sum(len(c.get_offsets()) for c in ax.collections) == len(trials)
    assert ax.lines[0].get_ydata()[0] == pytest.approx(from_store(path).best.loss)


def test_histogram_counts_the_ok_losses(store):
    path, trials = store
    fig = main_plot_histogram(trials, do_show=False, title="Loss Histogram")
    assert sum(p.get_height() for p in fig.axes[0].patches) == len(from_store(path).ok)


def test_vars_one_panel_per_parameter_log_axis_and_option_labels(store):
    path, trials = store
    fig = main_plot_vars(trials, do_show=False, fontsize=8, colorize_best=5, columns=2, arrange_by_loss=True)
    panels = {ax.get_title(): ax for ax in fig.axes}
    assert sorted(panels) == ["act", "beta", "depth", "lr", "opt"]
    assert panels["lr"].get_yscale() == "log" and panels["depth"].get_yscale() == "linear"
    assert [t.get_text() for t in panels["act"].get_yticklabels()] == ["relu", "tanh", "None"]
    view = from_store(path)
    assert len(panels["beta"].collections[0].get_offsets()) == sum("beta" in r.raw for r in view.ok)
    assert panels["lr"].get_xlabel() == "loss"
    green = [c for c in panels["lr"].collections[0].get_facecolors() if c[1] > 0.2 and c[0] == 0 and c[2] == 0]
    assert len(green) == 5  # colorize_best=5


def test_without_matplotlib_they_return_plotly_figures(store):
    path, _ = store
    code = textwrap.dedent(f"""
        import sys
        sys.modules["matplotlib"] = None  # as if matplotlib were not installed
        from parzen.plotting import main_plot_histogram, main_plot_history, main_plot_vars
        history = main_plot_history({str(path)!r}, do_show=False, title="t")
        vars_ = main_plot_vars({str(path)!r}, do_show=False, columns=3)
        hist = main_plot_histogram({str(path)!r}, do_show=False)
        print(type(history).__module__, sum(len(t.x) for t in history.data), history.layout.title.text)
        print(len(vars_.data), vars_.layout.yaxis4.type, len(hist.data[0].x), ",".join(vars_.layout.yaxis.ticktext))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    view = from_store(path)
    assert out[:3] == ["plotly.graph_objs._figure", str(len(view.rows)), "t"]
    assert out[3] == "5" and out[5] == str(len(view.ok))
    assert out[4] == "log"  # panels in label order: act, beta, depth, lr (the 4th) ...
    assert out[6] == "relu,tanh,None"


def test_import_parzen_stays_light_and_plotting_names_its_extra():
    heavy = "{'plotly', 'sklearn', 'pandas', 'matplotlib'}"
    code = f"import parzen, parzen.cli, sys; print(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy}))"
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "[]"
    blocked = "import sys; sys.modules['plotly'] = None; import parzen.plotting"
    result = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True)
    assert result.returncode != 0 and "pip install 'parzen[plots]'" in result.stderr and "plotly" in result.stderr
