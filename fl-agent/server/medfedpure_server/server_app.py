"""The coordinating site's ServerApp: FedAvg over the tumour classifier's shared layers, with client-side fixed
clipping and optional central Gaussian noise (Flower's DifferentialPrivacyClientSideFixedClipping wrapper).

Each round sends every sampled workstation a ``train`` message with ``{"arrays": shared layers, "config": {lr,
local-epochs, server-round, clipping_norm}}``; the workstation trains its local model (its head and normalisation
layers never leave the site), clips its update to ``clipping_norm`` and replies ``{"arrays", "metrics"}`` with an
integer ``num-examples``. FedAvg averages the replies weighted by ``num-examples``; the DP wrapper adds noise to the
average. Then an ``evaluate`` round reports each site's accuracy of its personalised model on its own held-out cases.

Run config: see pyproject.toml ``[tool.flwr.app.config]``.
"""

from __future__ import annotations

from logging import INFO
from pathlib import Path

from flwr.app import ConfigRecord, Context
from flwr.common import log
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import DifferentialPrivacyClientSideFixedClipping, FedAvg

from .shared_arrays import load_shared_arrays, save_shared_arrays

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Run the federation."""
    cfg = context.run_config
    min_nodes = int(cfg["min-nodes"])
    initial = load_shared_arrays(str(cfg["initial-arrays"]))
    log(INFO, "MedFedPure: %d shared layers, %d sites minimum", len(initial), min_nodes)

    strategy = FedAvg(
        fraction_train=float(cfg["fraction-train"]),
        fraction_evaluate=float(cfg["fraction-evaluate"]),
        min_train_nodes=min_nodes,
        min_evaluate_nodes=min_nodes,
        min_available_nodes=min_nodes,
    )
    clipping_norm = float(cfg["clipping-norm"])
    if clipping_norm > 0:
        # Workstations clip their update to clipping_norm (sent in every train config); the wrapper adds
        # N(0, (noise_multiplier * clipping_norm / min_nodes)^2) to the average. A round with any error reply
        # (e.g. a site's policy refused it) is not aggregated: the previous global model carries over.
        strategy = DifferentialPrivacyClientSideFixedClipping(
            strategy,
            noise_multiplier=float(cfg["noise-multiplier"]),
            clipping_norm=clipping_norm,
            num_sampled_clients=min_nodes,
        )

    result = strategy.start(
        grid=grid,
        initial_arrays=initial,
        num_rounds=int(cfg["num-server-rounds"]),
        timeout=float(cfg["round-timeout"]),
        train_config=ConfigRecord({"lr": float(cfg["lr"]), "local-epochs": int(cfg["local-epochs"])}),
        evaluate_config=ConfigRecord({}),
    )

    out = Path(str(cfg["output-dir"]))
    save_shared_arrays(result.arrays, out, {"rounds": int(cfg["num-server-rounds"])})
    log(INFO, "MedFedPure: global shared layers written to %s", out)
    for rnd, metrics in sorted(result.evaluate_metrics_clientapp.items()):
        log(INFO, "round %d: sites' personalised evaluation %s", rnd, dict(metrics))
