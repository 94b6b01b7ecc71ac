"""Signals during a simulated day (simulation/signals.py): Ctrl-C and SIGTERM wait for the end of the day, and
one whose exception a finalizer swallowed still stops the run at the end of the next day."""

from __future__ import annotations

import signal

import pytest

from simulation.engine.model import ConflictModel
from simulation.engine.signals import exit_on_signals
from simulation.rules import movement
from simulation.rules.state import State
from tests.conftest import TOY


@pytest.fixture
def cli_handlers():
    with exit_on_signals():
        yield


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_sigterm_swallowed_by_a_finalizer_still_stops_the_run(cli_handlers):
    class Finalizer:
        def __del__(self) -> None:
            signal.raise_signal(signal.SIGTERM)  # the handler's SystemExit is raised here, and ignored

    Finalizer()  # collected at once
    model = ConflictModel(TOY, seed=1, days=5)
    with pytest.raises(SystemExit) as stopped:
        model.step()
    assert stopped.value.code == 143
    assert model.day == 1  # the day was finished first


def test_ctrl_c_during_a_day_waits_for_its_end(cli_handlers, monkeypatch):
    model = ConflictModel(TOY, seed=1, days=5)
    move = movement.move

    def interrupted_move(state: State, params: dict) -> None:
        signal.raise_signal(signal.SIGINT)  # in the middle of the day
        move(state, params)

    monkeypatch.setattr(movement, "move", interrupted_move)
    with pytest.raises(KeyboardInterrupt):
        model.step()
    assert model.day == 1  # the rest of the day ran: nothing is left half-done


def test_ctrl_c_during_a_run_stops_it_at_the_end_of_the_day(cli_handlers, monkeypatch):
    model = ConflictModel(TOY, seed=1, days=5)
    move = movement.move

    def interrupted_move(state: State, params: dict) -> None:
        if model.day == 2:
            signal.raise_signal(signal.SIGINT)
        move(state, params)

    monkeypatch.setattr(movement, "move", interrupted_move)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        model.run()
    assert model.day == 3  # the third day was finished, and no other began
    assert signal.getsignal(signal.SIGINT) is handler  # the run's own handlers are gone


def test_the_command_lines_handlers_end_with_it():
    before = signal.getsignal(signal.SIGTERM)
    with exit_on_signals():
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) is before
    ConflictModel(TOY, seed=1, days=2).run()  # no stale signal stops a later run
