"""Operations: the new-files sensor, the schedules, code-set changes, executors."""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml
from dagster import (
    DagsterInstance,
    RunRequest,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
)

from cptflow.orchestration.backfills import consecutive_ranges
from cptflow.orchestration.code_sets import (
    code_set_changes,
    codes_invalid_under,
    compare_edit_tables,
    first_affected_date,
)
from cptflow.orchestration.executors import (
    ExecutorChoiceError,
    ensure_instance_settings,
    executor_name,
)
from cptflow.orchestration.partitions import DayRange
from cptflow.orchestration.resources import WarehouseResource
from cptflow.orchestration.schedules import daily_coding_schedule
from cptflow.orchestration.sensors import build_code_set_sensor, build_inbox_sensor
from cptflow.orchestration.settings import Paths

# A minimal 835 paid on 2026-11-16 (BPR16), in the project's own words.
REMIT_835 = (
    "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PROVIDER       "
    "*261116*1200*^*00501*000000001*0*P*:~GS*HP*PAYER*PROVIDER*20261116*1200*1*X*"
    "005010X221A1~ST*835*0001~BPR*I*100*C*ACH*CCP*01*999999999*DA*123456*"
    "1512345678**01*999988880*DA*98765*20261116~TRN*1*12345*1512345678~"
    "N1*PR*ACME HEALTH~N1*PE*CLINIC*XX*1234567893~LX*1~CLP*CF123*1*100*100**12*"
    "PCN1~SVC*HC:99213*100*100**1~DTM*472*20261110~SE*11*0001~GE*1*1~"
    "IEA*1*000000001~"
)


def _paths(tmp_path: Path) -> Paths:
    base = Paths.from_env(db=tmp_path / "cptflow.duckdb")
    return Paths(
        **{
            **base.__dict__,
            "inbox": tmp_path / "inbox",
            "remits": tmp_path / "remits",
        }
    )


def _write_inbox(paths: Paths) -> None:
    """Two notes received on different days (manifest) and one 835."""
    paths.inbox.mkdir()
    paths.remits.mkdir()
    (paths.inbox / "a.txt").write_text("Office visit note A.\n")
    (paths.inbox / "b.txt").write_text("Office visit note B.\n")
    (paths.inbox / "manifest.csv").write_text(
        "file,received_date\na.txt,2026-11-02\nb.txt,2026-11-03\n"
    )
    (paths.remits / "payer.835").write_text(REMIT_835)


def _evaluate(sensor, cursor: str | None = None) -> tuple[list, str | None]:
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(instance=instance, cursor=cursor)
        results = list(sensor(context))
        return results, context.cursor


def test_new_files_sensor_requests_each_files_partition(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    _write_inbox(paths)

    results, _ = _evaluate(build_inbox_sensor(paths))

    assert all(isinstance(r, RunRequest) for r in results)
    assert [r.partition_key for r in results] == [
        "2026-11-02",
        "2026-11-03",
        "2026-11-16",
    ]


def test_new_files_sensor_skips_files_already_seen(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    _write_inbox(paths)
    sensor = build_inbox_sensor(paths)
    _, cursor = _evaluate(sensor)

    results, _ = _evaluate(sensor, cursor)

    assert len(results) == 1
    assert isinstance(results[0], SkipReason)


def test_new_files_sensor_picks_up_a_rewritten_file(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    _write_inbox(paths)
    sensor = build_inbox_sensor(paths)
    _, cursor = _evaluate(sensor)
    (paths.inbox / "b.txt").write_text("Office visit note B, amended.\n")

    results, new_cursor = _evaluate(sensor, cursor)

    assert [r.partition_key for r in results] == ["2026-11-03"]
    assert json.loads(new_cursor)[str(paths.inbox / "b.txt")].endswith(":30")


def test_new_files_sensor_requests_every_file_of_a_changed_manifest(
    tmp_path: Path,
) -> None:
    paths = _paths(tmp_path)
    _write_inbox(paths)
    sensor = build_inbox_sensor(paths)
    _, cursor = _evaluate(sensor)
    (paths.inbox / "manifest.csv").write_text(
        "file,received_date\na.txt,2026-11-05\nb.txt,2026-11-03\n"
    )

    results, _ = _evaluate(sensor, cursor)

    assert [r.partition_key for r in results] == ["2026-11-03", "2026-11-05"]


def test_new_files_sensor_puts_an_unreadable_835_on_its_mtime(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    paths.remits.mkdir()
    broken = paths.remits / "broken.835"
    broken.write_text("not an 835")
    stamp = datetime(2026, 11, 20, 12, 0).timestamp()
    os.utime(broken, (stamp, stamp))

    results, _ = _evaluate(build_inbox_sensor(paths))

    assert [r.partition_key for r in results] == ["2026-11-20"]


def _write_claims_db(db: Path) -> None:
    """Two claims on two partitions; the first is answered by a remittance."""
    with duckdb.connect(str(db)) as conn:
        conn.execute("create schema claims")
        conn.execute("create schema remits")
        conn.execute(
            "create table claims.claims as select * from (values "
            "('CF1', date '2026-11-02', date '2026-11-01'), "
            "('CF2', date '2026-11-03', date '2026-11-02')) "
            "t(claim_id, partition_date, date_of_service)"
        )
        conn.execute("create table remits.remittance_lines as select 'CF1' as claim_id")


def test_code_set_sensor_first_tick_only_records_the_version(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    _write_claims_db(paths.db)

    results, cursor = _evaluate(build_code_set_sensor(paths))

    assert isinstance(results[0], SkipReason)
    assert cursor.startswith("rules=")


def test_code_set_sensor_revalidates_partitions_with_open_claims(
    tmp_path: Path,
) -> None:
    paths = _paths(tmp_path)
    _write_claims_db(paths.db)

    results, cursor = _evaluate(build_code_set_sensor(paths), "rules=old;ref=old")

    assert [r.partition_key for r in results] == ["2026-11-03"]
    assert cursor.startswith("rules=") and cursor != "rules=old;ref=old"


def test_daily_coding_schedule_runs_the_day_before() -> None:
    context = build_schedule_context(
        scheduled_execution_time=datetime(2026, 11, 3, 6, 0)
    )

    request = daily_coding_schedule(context)

    assert request.partition_key == "2026-11-02"


PTP_COLUMNS = ["column_1_code", "column_2_code", "modifier_indicator"]


def test_compare_edit_tables_finds_added_removed_and_changed_edits() -> None:
    old = pl.DataFrame(
        [("45378", "45380", "1"), ("45380", "45385", "1"), ("43235", "43239", "0")],
        schema=PTP_COLUMNS,
        orient="row",
    )
    new = pl.DataFrame(
        [("45378", "45380", "1"), ("43235", "43239", "1"), ("47562", "47563", "0")],
        schema=PTP_COLUMNS,
        orient="row",
    )

    added, removed, changed = compare_edit_tables(
        old, new, key=["column_1_code", "column_2_code"]
    )

    assert added.rows() == [("47562", "47563", "0")]
    assert removed.rows() == [("45380", "45385", "1")]
    assert changed.rows() == [("43235", "43239", "1")]


def _codes(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"code": pl.Utf8, "effective_from": pl.Date, "effective_to": pl.Date},
        orient="row",
    )


OPEN_LINES = pl.DataFrame(
    {
        "claim_id": ["CF1", "CF2", "CF3"],
        "cpt_code": ["99213", "0001U", "99999"],
        "date_of_service": [date(2026, 1, 5), date(2026, 1, 5), date(2026, 1, 5)],
    }
)


@pytest.mark.parametrize(
    ("periods", "expected"),
    [
        pytest.param(
            [("99213", date(2000, 1, 1), None), ("0001U", date(2025, 1, 1), None)],
            ["CF3"],
            id="unknown-code",
        ),
        pytest.param(
            [("99213", date(2000, 1, 1), None), ("0001U", date(2025, 1, 1), None)]
            + [("99999", date(2026, 2, 1), None)],
            ["CF3"],
            id="code-not-yet-in-force",
        ),
        pytest.param(
            [("99213", date(2000, 1, 1), None), ("0001U", date(2025, 1, 1), None)]
            + [("99999", date(2020, 1, 1), date(2026, 1, 5))],
            [],
            id="last-day-in-force",
        ),
    ],
)
def test_codes_invalid_under_checks_the_date_of_service(
    periods: list[tuple], expected: list[str]
) -> None:
    invalid = codes_invalid_under(OPEN_LINES, _codes(periods))

    assert invalid["claim_id"].to_list() == expected


def test_code_set_changes_reports_codes_that_became_invalid() -> None:
    old_codes = _codes(
        [("99213", date(2000, 1, 1), None), ("0001U", date(2025, 1, 1), None)]
    )
    # The new version ends 0001U on 2025-12-31; 99999 was never valid.
    new_codes = _codes(
        [
            ("99213", date(2000, 1, 1), None),
            ("0001U", date(2025, 1, 1), date(2025, 12, 31)),
        ]
    )
    edits = pl.DataFrame([("45378", "45380", "1")], schema=PTP_COLUMNS, orient="row")

    changes = code_set_changes(
        old_edits=edits,
        new_edits=edits.head(0),
        edit_key=["column_1_code", "column_2_code"],
        open_lines=OPEN_LINES,
        old_codes=old_codes,
        new_codes=new_codes,
    )

    assert changes.codes_now_invalid["claim_id"].to_list() == ["CF2"]
    assert changes.summary() == {
        "edits_added": 0,
        "edits_removed": 1,
        "edits_changed": 0,
        "codes_now_invalid": 1,
    }


def test_first_affected_date_is_the_earliest_changed_period() -> None:
    old = [(date(2026, 1, 1), date(2026, 3, 31))]
    new = [(date(2026, 1, 1), date(2026, 3, 31)), (date(2026, 4, 1), None)]

    assert first_affected_date(old, new) == date(2026, 4, 1)
    assert first_affected_date(old, old) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, "in_process", id="unset"),
        pytest.param("multiprocess", "multiprocess", id="multiprocess"),
        pytest.param("k8s", "k8s", id="k8s"),
    ],
)
def test_executor_name_reads_the_environment(value: str | None, expected: str) -> None:
    environ = {} if value is None else {"CPTFLOW_EXECUTOR": value}

    assert executor_name(environ) == expected


def test_executor_name_rejects_an_unknown_executor() -> None:
    with pytest.raises(ExecutorChoiceError, match="dask"):
        executor_name({"CPTFLOW_EXECUTOR": "dask"})


def test_instance_settings_keep_existing_settings_and_load(tmp_path: Path) -> None:
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")

    path = ensure_instance_settings(home)

    settings = yaml.safe_load(path.read_text())
    assert settings["telemetry"] == {"enabled": False}
    limits = settings["concurrency"]["runs"]["tag_concurrency_limits"]
    assert limits == [{"key": "cptflow/warehouse", "value": "duckdb", "limit": 1}]
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_concurrency_config().run_queue_config is not None


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        pytest.param([], [], id="none"),
        pytest.param(
            [date(2026, 10, 3), date(2026, 10, 1), date(2026, 10, 2)],
            [("2026-10-01", "2026-10-03")],
            id="unsorted-month-start",
        ),
        pytest.param(
            [date(2026, 10, 30), date(2026, 10, 31), date(2026, 11, 1)],
            [("2026-10-30", "2026-11-01")],
            id="across-a-month-end",
        ),
        pytest.param(
            [
                date(2026, 10, 1),
                date(2026, 10, 2),
                date(2026, 10, 5),
                date(2026, 10, 5),
            ],
            [("2026-10-01", "2026-10-02"), ("2026-10-05", "2026-10-05")],
            id="gap-and-repeat",
        ),
    ],
)
def test_consecutive_ranges_groups_days_into_stretches(
    days: list[date], expected: list[tuple[str, str]]
) -> None:
    ranges = consecutive_ranges(days)

    assert [(r.first.isoformat(), r.last.isoformat()) for r in ranges] == expected


def test_day_range_lists_its_days_and_names_itself() -> None:
    days = DayRange(date(2026, 10, 30), date(2026, 11, 1))

    assert days.days == [date(2026, 10, 30), date(2026, 10, 31), date(2026, 11, 1)]
    assert date(2026, 10, 31) in days and date(2026, 11, 2) not in days
    assert str(days) == "2026-10-30..2026-11-01"
    assert str(DayRange.single(date(2026, 10, 30))) == "2026-10-30"


def test_publish_replaces_every_day_of_a_range_and_no_other(tmp_path: Path) -> None:
    warehouse = WarehouseResource(database=str(tmp_path / "cptflow.duckdb"))
    days = [date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3)]
    for day in days:
        one = pl.DataFrame({"document_id": [f"d-{day}"], "partition_date": [day]})
        warehouse.stage("intake", "documents", one, day)
        warehouse.publish([("intake", "documents")], day)
    # Day 1 now has two rows and day 2 none; day 3 is outside the range.
    again = pl.DataFrame(
        {"document_id": ["d-1a", "d-1b"], "partition_date": [days[0], days[0]]}
    )

    warehouse.stage("intake", "documents", again, DayRange(days[0], days[1]))
    published = warehouse.publish([("intake", "documents")], DayRange(*days[:2]))

    rows = warehouse.read(
        "select partition_date, document_id from intake.documents order by all"
    )
    assert published == 2
    assert rows.rows() == [
        (days[0], "d-1a"),
        (days[0], "d-1b"),
        (days[2], "d-2026-10-03"),
    ]
