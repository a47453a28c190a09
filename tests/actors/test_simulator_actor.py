"""The simulator actor drives a symbol actor with model flow; the symbol ends in exactly the
state of the same flow run in process."""

from __future__ import annotations

from pathlib import Path

import pytest
import ray

import bot4
from bot4.actors.simulator import SimulatorActor
from bot4.core.instruments import Instrument
from bot4.market.flow import FlowConfig, FlowGenerator
from bot4.market.models import ArrivalModel, FillModel, MarketModel, SizeModel
from bot4.venue.engine import MatchingEngine
from tests.conftest import SYMBOLS_FILE

MODEL = MarketModel("ETHUSDT", ArrivalModel(3.0, 3.0), SizeModel(-1.0, 1.0),
                    FillModel(0.2, 0.5, 1.0))  # fmt: skip
START, END, MID = 1_700_000_000_000_000, 1_700_000_030_000_000, 200_000


@pytest.mark.usefixtures("ray_local")
def test_simulated_flow_through_actors_matches_the_in_process_run(
    tmp_path: Path, instruments: dict[str, Instrument]
) -> None:
    """The flow's counts and the symbol's final state equal the in-process run's; the simulator
    and the symbol's deployment are removed afterwards, passed or failed."""
    client = bot4.connect(symbols=["ETHUSDT"], journal_dir=tmp_path, fsync="never",
                          reference_prices={"ETHUSDT": MID})  # fmt: skip
    simulator = None
    try:
        simulator = SimulatorActor.remote(str(SYMBOLS_FILE), "ETHUSDT", MODEL.to_dict(), 7,  # type: ignore[attr-defined]
                                          {"levels": 3})  # fmt: skip
        stats = ray.get(simulator.run.remote(START, END, MID), timeout=300)
        assert stats["takers"] > 100 and stats["trades"] >= stats["takers"]
        local = MatchingEngine(instruments["ETHUSDT"], reference_price=MID)
        expected = FlowGenerator(MODEL, local, 7, FlowConfig(levels=3)).run(START, END, MID)
        assert (stats["takers"], stats["makers"], stats["trades"]) == (
            expected.takers, expected.makers, expected.trades)  # fmt: skip
        assert client.state_digest("ETHUSDT") == local.state_digest()
    finally:
        if simulator is not None:
            ray.kill(simulator)
        client.shutdown()
