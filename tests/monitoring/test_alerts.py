"""Alert delivery to real listeners on 127.0.0.1: an HTTP server (Slack-compatible webhook, PagerDuty Events v2) and
an aiosmtpd SMTP server, both started by the test; what arrived is read back. De-duplication, escalation, a re-run
of a month, and a failed channel (a closed port) logged without failing the run."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from kedro.runner import SequentialRunner

from kycc.hooks import _report_warnings
from kycc.monitoring.notify import LOG_COLUMNS, NotificationSettings, notify
from kycc.pipelines.actions import create_pipeline as actions_pipeline
from tests.inference.cards import memory_catalog


class _Webhook:
    """Records every JSON POST (path, body); answers 200, or 202 on /pagerduty like the Events API."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(
                    {"path": self.path, "type": self.headers["Content-Type"], "json": json.loads(body)}
                )
                self.send_response(202 if self.path.startswith("/pagerduty") else 200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Inbox:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's API
        self.messages.append({"to": list(envelope.rcpt_tos), "from": envelope.mail_from,
                              "message": message_from_bytes(envelope.content, policy=email_policy)})  # fmt: skip
        return "250 Message accepted for delivery"

    def __init__(self) -> None:
        self.messages = []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def webhook():
    server = _Webhook()
    yield server
    server.close()


@pytest.fixture
def smtp():
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


def _settings(webhook, smtp, **overrides) -> NotificationSettings:
    params = {
        "channels": {
            "slack": {"type": "webhook", "format": "slack"},
            "pagerduty": {"type": "webhook", "format": "pagerduty"},
            "email_ml": {"type": "smtp", "to": ["ml@example.com"], "credentials": "smtp"},
            "email_risk": {"type": "smtp", "to": ["risk@example.com"], "credentials": "smtp"},
        },
        "levels": {
            "monitor": ["email_ml"],
            "active_monitoring": ["slack", "email_ml"],
            "retrain": ["pagerduty", "slack", "email_ml", "email_risk"],
        },
        "repeat_every_months": {"monitor": None},
        "retry": {"attempts": 2, "backoff_seconds": 0},
        "timeout_seconds": 5,
        **overrides,
    }
    secrets = {
        "slack": {"url": f"{webhook.url}/slack/T000/B000/secret-token"},
        "pagerduty": {"url": f"{webhook.url}/pagerduty/v2/enqueue", "routing_key": "R0UT1NGKEY0123456789"},
        "smtp": {"host": "127.0.0.1", "port": smtp.port, "from_addr": "kycc@example.com"},
    }
    return NotificationSettings.from_params(params, secrets)


def _closed_slack(smtp, closed: int, level: str, attempts: int, path: str = "hook") -> NotificationSettings:
    """Slack on a port nothing listens on, e-mail to the real SMTP server."""
    return NotificationSettings.from_params(
        {
            "channels": {
                "slack": {"type": "webhook", "format": "slack", "url": f"http://127.0.0.1:{closed}/{path}"},
                "email_ml": {
                    "type": "smtp",
                    "to": ["ml@example.com"],
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "from_addr": "kycc@example.com",
                },
            },  # fmt: skip
            "levels": {level: ["slack", "email_ml"]},
            "retry": {"attempts": attempts, "backoff_seconds": 0},
        }
    )


def _alert(month: str, level: str, model: str = "model_1") -> dict:
    return {
        "model": model,
        "month": month,
        "level": level,
        "model_version": 3,
        "registered_model_name": "kycc_model_1",
        "reasons": [
            "P0 roc_auc 0.5100 [0.4500, 0.5700] (DeLong 95%, n=450): upper bound < business threshold 0.75"
        ]
        if level == "retrain"
        else ["P1 accuracy 0.6978 [0.6542, 0.7388]: upper bound < data-science threshold 0.75"],
        "evidence": [
            {
                "metric": "roc_auc",
                "priority": "P0",
                "value": 0.51,
                "lower": 0.45,
                "upper": 0.57,
                "n": 450,
                "business_threshold": 0.75,
                "data_science_threshold": 0.8,
                "status": "below_business",
                "decides": True,
            },
        ],  # fmt: skip
        "calibration": {
            "ae_ratio": 1.3,
            "ae_lower": 1.1,
            "ae_upper": 1.5,
            "actual_defaults": 130,
            "expected_defaults": 100.0,
            "verdict": "pd too low",
        },  # fmt: skip
        "text": f"KYCC model monitoring action report: {model} — {month}\nDecision: {level.upper()}\n",
    }


def test_webhook_and_smtp_messages_arrive(webhook, smtp):
    log = notify([_alert("2025-05-01", "retrain")], None, _settings(webhook, smtp))
    assert log.columns.tolist() == LOG_COLUMNS
    assert log.set_index("channel")["status"].to_dict() == dict.fromkeys(
        ["pagerduty", "slack", "email_ml", "email_risk"], "sent"
    )
    by_path = {r["path"].split("/")[1]: r for r in webhook.received}
    slack = by_path["slack"]
    assert slack["path"] == "/slack/T000/B000/secret-token" and slack["type"] == "application/json"
    assert slack["json"]["text"].startswith("KYCC RETRAIN: model_1 v3 — monitoring month 2025-05")
    assert slack["json"]["blocks"][0]["type"] == "header"
    assert "upper bound < business threshold 0.75" in json.dumps(slack["json"]["blocks"])
    event = by_path["pagerduty"]["json"]
    assert event["routing_key"] == "R0UT1NGKEY0123456789" and event["event_action"] == "trigger"
    assert event["dedup_key"] == "kycc:model_1:retrain" and event["payload"]["severity"] == "critical"
    assert event["payload"]["source"] == "kycc-monitoring" and event["payload"]["component"] == "model_1"
    assert log.set_index("channel").loc["pagerduty", "response"] == "HTTP 202"
    assert sorted(m["to"][0] for m in smtp.messages) == ["ml@example.com", "risk@example.com"]
    mail = smtp.messages[0]["message"]
    assert mail["Subject"] == "KYCC RETRAIN: model_1 v3 — monitoring month 2025-05"
    assert mail["From"] == "kycc@example.com" and "Decision: RETRAIN" in mail.get_content()
    # the log never holds a secret: the webhook's target is its scheme://host only
    assert "secret-token" not in log.to_csv() and "R0UT1NGKEY" not in log.to_csv()


def test_same_level_is_not_resent_until_it_escalates(webhook, smtp):
    settings = _settings(webhook, smtp)
    months = ["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01"]
    levels = ["active_monitoring", "active_monitoring", "retrain", "retrain", "monitor"]
    log = notify([_alert(m, lv) for m, lv in zip(months, levels, strict=True)], None, settings)
    sent = (
        log.loc[log["status"] == "sent"]
        .groupby(log["snapshot_date"].dt.strftime("%Y-%m"))["channel"]
        .apply(sorted)
    )
    assert sent.to_dict() == {
        "2025-01": ["email_ml", "slack"],  # first notification
        "2025-03": ["email_ml", "email_risk", "pagerduty", "slack"],  # escalation
        "2025-05": ["email_ml"],  # lowered back to monitor
    }
    feb = log.loc[log["snapshot_date"] == "2025-02-01"]
    assert feb["status"].eq("suppressed").all() and feb["reason"].str.contains("already sent 2025-01").all()
    assert (
        log.loc[log["snapshot_date"] == "2025-03-01", "reason"].eq("escalation from active_monitoring").all()
    )
    assert len(webhook.received) == 1 + 2 and len(smtp.messages) == 1 + 2 + 1
    # the next run reads the log: April's retrain again is suppressed, a re-run of May is not sent twice
    again = notify([_alert("2025-04-01", "retrain"), _alert("2025-05-01", "monitor")], log, settings)
    assert again["status"].eq("suppressed").all()
    assert again.loc[again["snapshot_date"] == "2025-05-01", "reason"].iloc[0] == (
        "already sent for 2025-05 (a re-run of the month)"
    )
    assert len(webhook.received) == 3 and len(smtp.messages) == 4
    # a reminder when configured: monitor every month
    monthly = _settings(webhook, smtp, repeat_every_months={"monitor": 1})
    june = notify([_alert("2025-06-01", "monitor")], log, monthly)
    assert june["status"].tolist() == ["sent"] and june["reason"].iloc[0].startswith(
        "reminder: monitor since 2025-05"
    )


def test_a_failed_channel_is_logged_retried_and_sent_again_next_month(webhook, smtp):
    settings = _settings(webhook, smtp)
    closed = _free_port()  # nothing listens there
    broken = _closed_slack(smtp, closed, "active_monitoring", attempts=3)
    first = notify([_alert("2025-01-01", "active_monitoring")], None, broken).set_index("channel")
    assert first.loc["slack", "status"] == "failed" and first.loc["slack", "attempts"] == 3
    assert "Connection refused" in first.loc["slack", "error"]
    assert first.loc["email_ml", "status"] == "sent" and len(smtp.messages) == 1
    # next month at the same level: the failed channel is tried again, the delivered one is not re-sent
    fixed = _settings(webhook, smtp)
    second = notify([_alert("2025-02-01", "active_monitoring")], first.reset_index(), fixed).set_index(
        "channel"
    )
    assert second.loc["slack", "status"] == "sent"
    assert second.loc["slack", "reason"] == "active_monitoring since 2025-01, not delivered on slack yet"
    assert second.loc["email_ml", "status"] == "suppressed" and len(smtp.messages) == 1
    assert len(webhook.received) == 1
    # a channel without its secrets is not_configured (no attempt), not failed
    bare = NotificationSettings.from_params({**{"channels": {"slack": {"type": "webhook"}}},
                                             "levels": {"retrain": ["slack"]}})  # fmt: skip
    row = notify([_alert("2025-03-01", "retrain")], None, bare).iloc[0]
    assert row["status"] == "not_configured" and row["attempts"] == 0
    assert "kycc_notifications.slack.url" in row["error"]
    assert settings.channels["slack"].target() == webhook.url


def test_the_pipeline_logs_a_failed_delivery_without_failing_the_run(webhook, smtp):
    """The delivery node inside the actions pipeline: one month retrain, Slack on a closed port, SMTP real."""
    pipeline = actions_pipeline(models=["model_1"]).only_nodes("deliver_notifications", "summarise_actions")
    closed = _free_port()
    notifications = {
        "channels": {
            "slack": {"type": "webhook", "format": "slack"},
            "email_ml": {"type": "smtp", "to": ["ml@example.com"], "credentials": "smtp"},
        },
        "levels": {"retrain": ["slack", "email_ml"]},
        "retry": {"attempts": 2, "backoff_seconds": 0},
    }
    history = pd.DataFrame([{c: "" for c in LOG_COLUMNS} | {"snapshot_date": pd.Timestamp("2025-05-01"),
                             "model": "model_1", "level": "retrain", "channel": "email_ml", "status": "failed",
                             "attempts": 2, "model_version": 3}])  # fmt: skip
    catalog = memory_catalog(
        pipeline,
        {
            "act_alert_delivery_history": history,
            "act_notification_secrets": {
                "slack": {"url": f"http://127.0.0.1:{closed}/hook"},
                "smtp": {"host": "127.0.0.1", "port": smtp.port, "from_addr": "kycc@example.com"},
            },
            "params:actions": {"notifications": notifications},
            "act_model_alerts_model_1": [_alert("2025-05-01", "retrain")],
            "act_model_summary_model_1": {"model": "model_1", "months": [
                {"month": "2025-05-01", "status": "evaluated", "decision": "retrain"}]},
        },
    )  # fmt: skip
    SequentialRunner().run(pipeline, catalog)
    log = catalog.load("out_alert_delivery_log")
    assert len(log) == 3 and log["status"].tolist() == ["failed", "failed", "sent"]  # the earlier row is kept
    assert len(smtp.messages) == 1
    summary = catalog.load("rpt_actions_summary")
    assert summary["deliveries"]["counts"] == {"failed": 1, "sent": 1}
    assert summary["deliveries"]["failed"][0]["channel"] == "slack"
    warnings = _report_warnings(catalog, ["rpt_actions_summary"])
    assert len(warnings) == 1 and warnings[0].startswith(
        "alert not delivered: model_1 2025-05 retrain via slack"
    )


def test_bad_notification_settings_are_refused():
    with pytest.raises(ValueError, match="Unknown keys in actions.notifications: \\['chanels'\\]"):
        NotificationSettings.from_params({"chanels": {}})
    with pytest.raises(ValueError, match=r"levels.retrain: channel\(s\) \['teams'\] are not defined"):
        NotificationSettings.from_params({"channels": {}, "levels": {"retrain": ["teams"]}})
    with pytest.raises(ValueError, match="channels.x.type must be one of"):
        NotificationSettings.from_params({"channels": {"x": {"type": "fax"}}})
    with pytest.raises(ValueError, match="Unknown keys in credentials kycc_notifications.slack"):
        NotificationSettings.from_params(
            {"channels": {"slack": {"type": "webhook"}}}, {"slack": {"token": "t"}}
        )
    with pytest.raises(ValueError, match="retry.attempts must be a whole number in 1..10"):
        NotificationSettings.from_params({"retry": {"attempts": 0}})


def test_the_dashboard_section_shows_failed_deliveries(webhook, smtp):
    from kycc.reporting.alerts_section import render_alerts_section

    closed = _free_port()
    settings = _closed_slack(smtp, closed, "retrain", attempts=1, path="<hook>")
    log = notify(
        [_alert("2025-05-01", "retrain"), _alert("2025-05-01", "retrain", model="model_2")], None, settings
    )
    section = render_alerts_section(log)
    assert section.startswith("<section><h2>Alerts delivered</h2>") and section.endswith("</section>")
    assert "2 alert(s) not delivered" in section and section.count("Connection refused") == 2
    assert '<td class="l">sent</td>' in section and "model_2" in section
    assert "No alert recorded yet" in render_alerts_section(pd.DataFrame())
    assert "No failed delivery" in render_alerts_section(log.loc[log["status"] == "sent"])


def test_the_credentials_template_copied_unchanged_configures_no_channel():
    import yaml

    from kycc.monitoring.notify import NotificationSecretsDataset
    from tests.kedro_run import PROJECT_ROOT

    template = yaml.safe_load((PROJECT_ROOT / "conf/local/credentials.yml.example").read_text())
    secrets = NotificationSecretsDataset(template["kycc_notifications"]).load()
    params = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_actions.yml").read_text())["actions"]
    settings = NotificationSettings.from_params(params["notifications"], secrets)
    assert all(channel.missing() for channel in settings.channels.values())
    log = notify([_alert("2025-05-01", "retrain")], None, settings)
    assert log["status"].eq("not_configured").all() and log["attempts"].eq(0).all()
    assert "kycc_notifications.smtp.host" in log.set_index("channel").loc["email_ml", "error"]


def test_the_summary_counts_the_deliveries_of_the_run_months_only():
    from kycc.pipelines.actions.nodes import summarise_actions

    rows = [
        {c: "" for c in LOG_COLUMNS} | {"snapshot_date": pd.Timestamp(month), "model": "model_1", "level": "retrain",
                                        "channel": "slack", "status": status, "attempts": 3, "model_version": 1}
        for month, status in (("2025-04-01", "failed"), ("2025-05-01", "sent"))
    ]  # fmt: skip
    run = {
        "model": "model_1",
        "months": [{"month": "2025-05-01", "status": "evaluated", "decision": "retrain"}],
    }
    summary = summarise_actions(pd.DataFrame(rows), run)
    assert summary["deliveries"]["counts"] == {"sent": 1} and summary["warnings"] == []


def _self_signed(tmp_path):
    """A certificate for 127.0.0.1 (and its key) the test's SMTP server presents and the channel trusts."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


def test_smtp_with_starttls_and_login(tmp_path):
    import ssl

    from aiosmtpd.smtp import AuthResult

    cert_file, key_file = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_file, key_file)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((mechanism, auth_data.login, auth_data.password, session.ssl is not None))
        return AuthResult(success=auth_data.password == b"s3cret-Pa55word")

    inbox = _Inbox()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=_free_port(), tls_context=server_tls, require_starttls=True,
        authenticator=authenticator, auth_required=True,
    )  # fmt: skip
    controller.start()
    try:

        def settings(**smtp):
            return NotificationSettings.from_params(
                {"channels": {"email_ml": {"type": "smtp", "to": ["ml@example.com"], "credentials": "smtp"}},
                 "levels": {"retrain": ["email_ml"]}, "retry": {"attempts": 1, "backoff_seconds": 0}},
                {"smtp": {"host": "127.0.0.1", "port": controller.port, "from_addr": "kycc@example.com",
                          "username": "kycc", **smtp}},
            )  # fmt: skip

        good = settings(password="s3cret-Pa55word", starttls=True, ca_file=str(cert_file))
        row = notify([_alert("2025-05-01", "retrain")], None, good).iloc[0]
        assert row["status"] == "sent", row["error"]
        assert [login[1:] for login in logins] == [(b"kycc", b"s3cret-Pa55word", True)]  # over TLS
        assert len(inbox.messages) == 1 and inbox.messages[0]["to"] == ["ml@example.com"]
        # without STARTTLS the server offers no login (it requires TLS first): a failed row, no exception
        plain = notify([_alert("2025-06-01", "retrain")], None, settings(password="s3cret-Pa55word")).iloc[0]
        assert plain["status"] == "failed" and "SMTP AUTH extension not supported" in plain["error"]
        assert len(inbox.messages) == 1
    finally:
        controller.stop()
