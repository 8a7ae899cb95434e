"""The registry's database out of reach: registry writes fail fast with a 503 to retry, in
Vietnamese and English, while stamps are still checked (issue 18)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import Demo
from verifier.store.database import make_engine, session_factory
from verifier.store.models import Authority, Certificate

UNREACHABLE = "postgresql+psycopg://ocop@127.0.0.1:1/ocop"  # nothing listens on port 1


def test_a_registry_write_with_the_database_unreachable_is_a_503_to_retry_regression(
    demo: Demo,
) -> None:
    """A write while the database was down was answered 500 "internal_error", as if the
    request were at fault."""
    with demo.service.sessions() as session:
        certificate = session.scalars(
            select(Certificate.id).join(Authority).where(Authority.code == "VN-01")
        ).first()
    engine = make_engine(UNREACHABLE, writer=True)
    demo.service.writer = session_factory(engine)  # as while the server is stopped
    # as a server answers: the fault's handler answers, nothing is raised to the caller
    client = TestClient(
        demo.client.app, raise_server_exceptions=False, base_url="https://testserver"
    )
    try:
        answer = client.post(
            f"/api/v1/certificates/{certificate}/revoke",
            json={"decision": "QĐ 5/QĐ-UBND", "decision_date": "2026-11-20", "reason": "Vi phạm"},
            headers={"Authorization": f"Bearer {demo.info['tokens']['authority_VN-01']}"},
        )
    finally:
        engine.dispose()
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "5"
    error = answer.json()["error"]
    assert error["code"] == "database_unavailable"
    assert error["messages"]["vi"].startswith("Tạm thời không kết nối được cơ sở dữ liệu")
    assert "Try again in 5 seconds" in error["messages"]["en"]
    checked = demo.client.get("/api/v1/verify", params={"code": demo.sample("genuine")})
    assert (checked.status_code, checked.json()["verdict"]) == (200, "genuine")
