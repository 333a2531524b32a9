"""Placeholder ClientApp: a FAB must name one, but MedFedPure workstations run the TypeScript agent
(`medfedpure fl join`), not Python. A Python SuperNode that picks this app up fails loudly instead of training
something else."""

from flwr.app import Context, Message
from flwr.clientapp import ClientApp

app = ClientApp()


@app.train()
def train(msg: Message, context: Context) -> Message:  # pragma: no cover - never meant to run
    raise RuntimeError("MedFedPure sites join with `medfedpure fl join`; this ClientApp is not for Python SuperNodes")


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:  # pragma: no cover - never meant to run
    raise RuntimeError("MedFedPure sites join with `medfedpure fl join`; this ClientApp is not for Python SuperNodes")
