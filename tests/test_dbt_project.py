"""Tests for the dbt project: builds the marts on the fixture and checks figures."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner, dbtRunnerResult

REPO = Path(__file__).resolve().parents[1]
PROJECT_DIR = REPO / "dbt_project"
FIXTURE_SQL = REPO / "tests" / "fixtures" / "contract_tables.sql"
SOURCE_SCHEMAS = {"intake", "ocr", "nlp", "coding", "claims", "remits", "review"}


@dataclass(frozen=True)
class BuiltProject:
    """A fixture database after `dbt build`, with the folders dbt wrote to."""

    database: Path
    work_dir: Path
    build_result: dbtRunnerResult


def invoke_dbt(command: list[str], work_dir: Path) -> dbtRunnerResult:
    """Run one dbt command in-process with its target and log folders under work_dir."""
    arguments = [
        *command,
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
    ]
    return dbtRunner().invoke(arguments)


def create_fixture_database(database: Path) -> None:
    """Create the stage tables of docs/architecture.md with the hand-made rows."""
    with duckdb.connect(str(database)) as connection:
        connection.execute(FIXTURE_SQL.read_text())


def query_rows(database: Path, sql: str, *parameters: object) -> list[dict]:
    """Return the rows of a query on the built database as dicts."""
    # dbt-duckdb keeps its handle open in this process; read_only would differ from it.
    with duckdb.connect(str(database)) as connection:
        cursor = connection.execute(sql, list(parameters))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture(scope="module")
def built_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltProject]:
    """Build every model, seed and test of the project on the contract fixture."""
    work_dir = tmp_path_factory.mktemp("dbt")
    database = work_dir / "cptflow.duckdb"
    create_fixture_database(database)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CPTFLOW_DB", str(database))
        patch.setenv("DO_NOT_TRACK", "1")
        # Two threads, one per core: the profile's single thread is for the pipeline.
        result = invoke_dbt(["build", "--threads", "2"], work_dir)
        yield BuiltProject(database, work_dir, result)


@pytest.mark.slow
def test_dbt_build_passes_on_contract_fixture(built_project: BuiltProject) -> None:
    statuses = {
        result.node.name: str(result.status)
        for result in built_project.build_result.result
    }

    assert built_project.build_result.success, built_project.build_result.exception
    assert {name for name, status in statuses.items() if status == "warn"} == set()
    assert "fct_claim_lines" in statuses
    assert "assert_paid_amount_not_above_billed" in statuses


@pytest.mark.slow
@pytest.mark.parametrize(
    ("cpt_code", "expected"),
    [
        pytest.param("99213", (1, 1, 1, 1.0, 150.00, 0.00), id="bundled-em-visit"),
        pytest.param("71046", (1, 1, 1, 1.0, 95.00, 0.00), id="missing-information"),
        pytest.param("45380", (1, 1, 0, 0.0, 0.00, 480.00), id="paid-colonoscopy"),
        pytest.param("36415", (1, 0, 0, None, 0.00, 0.00), id="not-remitted"),
    ],
)
def test_denials_by_cpt_code_counts_lines_denials_and_amounts(
    built_project: BuiltProject, cpt_code: str, expected: tuple
) -> None:
    [row] = query_rows(
        built_project.database,
        "select claim_line_count, remitted_line_count, denied_line_count, denial_rate,"
        " denied_amount, paid_amount from marts.denials_by_cpt_code where cpt_code = ?",
        cpt_code,
    )

    assert tuple(row.values()) == expected


@pytest.mark.slow
@pytest.mark.parametrize(
    ("rendering_npi", "expected"),
    [
        pytest.param("1234567893", (2, 2, 1, 1, 0.5, 150.00), id="one-of-two-denied"),
        pytest.param("1245319599", (2, 1, 1, 1, 1.0, 95.00), id="one-remitted-denied"),
    ],
)
def test_denials_by_provider_rates_over_remitted_lines(
    built_project: BuiltProject, rendering_npi: str, expected: tuple
) -> None:
    [row] = query_rows(
        built_project.database,
        "select claim_line_count, remitted_line_count, denied_line_count,"
        " avoidable_denied_line_count, denial_rate, denied_amount"
        " from marts.denials_by_provider where rendering_npi = ?",
        rendering_npi,
    )

    assert tuple(row.values()) == expected


@pytest.mark.slow
def test_fct_claim_lines_posts_contractual_and_patient_share_as_not_denied(
    built_project: BuiltProject,
) -> None:
    [row] = query_rows(
        built_project.database,
        "select paid_amount, contractual_adjustment_amount,"
        " patient_responsibility_amount, denied_amount, is_denied, denial_category,"
        " group_carc_codes from marts.fct_claim_lines"
        " where line_control_number = 'CF5e0c7d2a91b3-1'",
    )

    assert row == {
        "paid_amount": 480.00,
        "contractual_adjustment_amount": 600.00,
        "patient_responsibility_amount": 120.00,
        "denied_amount": 0.00,
        "is_denied": False,
        "denial_category": None,
        "group_carc_codes": ["CO-45", "PR-2"],
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    ("cpt_code", "family_code"),
    [
        pytest.param("99213", "evaluation_management", id="em-992xx"),
        pytest.param("45380", "surgery", id="surgery-4xxxx"),
        pytest.param("36415", "surgery", id="surgery-3xxxx"),
        pytest.param("71046", "radiology", id="radiology-7xxxx"),
    ],
)
def test_fct_claim_lines_maps_cpt_code_to_family(
    built_project: BuiltProject, cpt_code: str, family_code: str
) -> None:
    rows = query_rows(
        built_project.database,
        "select cpt_family_code from marts.fct_claim_lines where cpt_code = ?",
        cpt_code,
    )

    assert rows == [{"cpt_family_code": family_code}]


@pytest.mark.slow
def test_fct_claim_lines_carries_review_flag_and_evidence_spans(
    built_project: BuiltProject,
) -> None:
    [row] = query_rows(
        built_project.database,
        "select is_encounter_review_needed, evidence_count, evidence_spans"
        " from marts.fct_claim_lines where line_control_number = 'CFa3f19c0b7e2d-1'",
    )

    assert row == {
        "is_encounter_review_needed": True,
        "evidence_count": 1,
        "evidence_spans": [{"page_number": 1, "start_offset": 6, "end_offset": 22}],
    }


@pytest.mark.slow
def test_fct_denials_holds_one_row_per_denied_line(built_project: BuiltProject) -> None:
    rows = query_rows(
        built_project.database,
        "select line_control_number, cpt_code, denial_category, carc_codes,"
        " is_avoidable_by_coding, denied_amount"
        " from marts.fct_denials order by line_control_number",
    )

    assert rows == [
        {
            "line_control_number": "CF5e0c7d2a91b3-2",
            "cpt_code": "99213",
            "denial_category": "bundling",
            "carc_codes": ["CO-97"],
            "is_avoidable_by_coding": True,
            "denied_amount": 150.00,
        },
        {
            "line_control_number": "CFa3f19c0b7e2d-1",
            "cpt_code": "71046",
            "denial_category": "missing_information",
            "carc_codes": ["CO-16"],
            "is_avoidable_by_coding": True,
            "denied_amount": 95.00,
        },
    ]


@pytest.mark.slow
def test_remittance_lines_match_by_control_number_then_service_line(
    built_project: BuiltProject,
) -> None:
    rows = query_rows(
        built_project.database,
        "select remittance_line_id, line_control_number, match_method"
        " from marts.fct_remittance_lines order by remittance_line_id",
    )

    assert [tuple(row.values()) for row in rows] == [
        ("7c0d9e8f1a2b:1:1:1", "CF5e0c7d2a91b3-1", "line_control_number"),
        ("7c0d9e8f1a2b:1:1:2", "CF5e0c7d2a91b3-2", "line_control_number"),
        ("7c0d9e8f1a2b:1:2:1", "CFa3f19c0b7e2d-1", "service_line"),
    ]


@pytest.mark.slow
def test_denial_reasons_leave_out_contractual_and_patient_share(
    built_project: BuiltProject,
) -> None:
    rows = query_rows(
        built_project.database,
        "select denial_category, group_carc_code, denied_line_count, denied_amount"
        " from marts.denial_reasons order by group_carc_code",
    )

    assert [tuple(row.values()) for row in rows] == [
        ("missing_information", "CO-16", 1, 95.00),
        ("bundling", "CO-97", 1, 150.00),
    ]


@pytest.mark.slow
def test_coding_quality_counts_encounter_review_against_every_line(
    built_project: BuiltProject,
) -> None:
    rows = query_rows(
        built_project.database,
        "select cpt_family_code, coded_line_count, review_rate, straight_through_share"
        " from marts.coding_quality where rendering_npi = '1245319599'"
        " order by cpt_family_code",
    )

    assert [tuple(row.values()) for row in rows] == [
        ("radiology", 1, 1.0, 0.0),
        ("surgery", 1, 1.0, 0.0),
    ]


@pytest.mark.slow
def test_dbt_sources_carry_dagster_asset_keys(built_project: BuiltProject) -> None:
    manifest = json.loads(
        (built_project.work_dir / "target" / "manifest.json").read_text()
    )
    sources = manifest["sources"].values()

    assert {source["source_name"] for source in sources} == SOURCE_SCHEMAS
    assert all(
        source["meta"]["dagster"]["asset_key"]
        == [source["source_name"], source["name"]]
        for source in sources
    )


@pytest.mark.slow
def test_dbt_parse_passes_for_warehouse_target(tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CPTFLOW_WAREHOUSE_DB", str(tmp_path / "warehouse.duckdb"))
        patch.setenv("DO_NOT_TRACK", "1")
        result = invoke_dbt(["parse", "--target", "warehouse"], tmp_path)

    assert result.success, result.exception
    assert (tmp_path / "target" / "manifest.json").exists()


@pytest.mark.slow
def test_dbt_docs_generate_documents_every_built_column(
    built_project: BuiltProject,
) -> None:
    result = invoke_dbt(["docs", "generate"], built_project.work_dir)
    target = built_project.work_dir / "target"
    catalog = json.loads((target / "catalog.json").read_text())
    manifest = json.loads((target / "manifest.json").read_text())
    models = {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
    }
    undocumented = {
        unique_id: set(catalog["nodes"][unique_id]["columns"]) - set(node["columns"])
        for unique_id, node in models.items()
    }

    assert result.success, result.exception
    assert (target / "index.html").exists()
    assert {key: value for key, value in undocumented.items() if value} == {}
    assert all(node["description"] for node in models.values())
