"""One look for every figure."""
import matplotlib

STYLE = {
    "figure.dpi": 110, "savefig.dpi": 130, "font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9,
    "legend.fontsize": 7, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
    "axes.spines.right": False, "lines.linewidth": 1.4,
}


def apply():
    """Use the non-interactive backend (unless one is set) and the figures' common rcParams."""
    matplotlib.use("Agg", force=False)
    matplotlib.rcParams.update(STYLE)


def caption(fig, text):
    """Settings under the figure (the papers' own settings are not recovered: these are ours)."""
    fig.text(0.01, 0.005, text, fontsize=6.5, ha="left", va="bottom", wrap=True, color="0.25")
    fig.subplots_adjust(bottom=0.22)
