"""Stored model evaluations: core/model_metrics.py and GET /api/v1/models/metrics (any
signed-in user; newest first; paginated like the other lists)."""

import uuid
from decimal import Decimal

import httpx
import pytest

from core import model_metrics
from core.model_metrics import Evaluation, ratio
from tests.accounts_client import bearer, signed_up


def measured(name: str, accuracy: float) -> Evaluation:
    return Evaluation(
        model_name=name,
        model_version="0.1.0",
        accuracy=accuracy,
        precision=0.91234,
        recall=1.0,
        f1_score=0.5,
        training_duration=12,
        training_samples=0,
        validation_samples=40,
        hyperparameters={"provider": "offline"},
        feature_importance={"create_goal": 0.9},
        meta_data={"latency_ms": {"p50": 3.0, "p95": 9.5}},
    )


async def store(sessions, *evaluations: Evaluation) -> list:
    rows = []
    for evaluation in evaluations:  # one transaction each: created_at tells them apart
        async with sessions() as session, session.begin():
            rows.append(await model_metrics.record(session, evaluation))
    return rows


def test_a_ratio_is_kept_to_four_places_and_within_0_and_1():
    assert ratio(0.91235) == Decimal("0.9124") and ratio(1) == Decimal("1.0000")
    for wrong in (-0.01, 1.0001):
        with pytest.raises(ValueError, match="between 0 and 1"):
            ratio(wrong)


async def test_listed_newest_first_to_signed_in_users(live_server, sessions):
    name, other = f"m-{uuid.uuid4().hex[:8]}", f"n-{uuid.uuid4().hex[:8]}"
    first, second, third = await store(
        sessions, measured(name, 0.5), measured(other, 0.7), measured(name, 0.75)
    )
    async with httpx.AsyncClient(base_url=live_server + "/api/v1") as api:
        assert (await api.get("/models/metrics")).status_code == 401
        _, tokens = await signed_up(api)
        auth = bearer(tokens)
        page = (await api.get("/models/metrics", params={"model_name": name}, headers=auth)).json()
        assert (page["total"], page["limit"], page["offset"]) == (2, 20, 0)
        assert [i["id"] for i in page["items"]] == [str(third.id), str(first.id)]
        shown = page["items"][0]
        assert shown["accuracy"] == "0.7500" and shown["precision"] == "0.9123"
        assert shown["meta_data"] == {"latency_ms": {"p50": 3.0, "p95": 9.5}}
        assert shown["training_duration"] == 12 and shown["validation_samples"] == 40

        newest = (await api.get("/models/metrics", params={"limit": 1}, headers=auth)).json()
        assert newest["items"][0]["id"] == str(third.id)  # the newest of all models
        after = await api.get("/models/metrics", params={"limit": 1, "offset": 1}, headers=auth)
        assert after.json()["items"][0]["id"] == str(second.id)

        for bad in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"modelname": "x"}):
            refused = await api.get("/models/metrics", params=bad, headers=auth)
            assert refused.status_code == 422, (bad, refused.text)

    async with sessions() as session:
        latest = await model_metrics.latest_per_model(session)
    mine = [row.id for row in latest if row.model_name in (name, other)]
    assert mine == [third.id, second.id]  # one per model, best F1 first (tied: by name)
