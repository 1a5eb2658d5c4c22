"""Hostile files for every importer (`uptime import`, `billing import`, `tenants provision-many`):
each must exit non-zero with one line on stderr naming the line at fault, no traceback, and leave
every catalog table as it was. A good row comes first in most files, so "nothing imported" means
the whole file was refused, not just the bad row."""

from __future__ import annotations

import codecs
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[2]
HUGE = "x" * 200_000  # past the csv module's 131,072-character field limit

UPTIME_HEADER = "target,checked_at,ok,latency_ms\n"
UPTIME_GOOD = "api,2025-03-01T00:00:00Z,true,12\n"
BILLING_HEADER = "tenant,effective_date,plan,interval,price,seats,discount_percent,status\n"
BILLING_GOOD = "acme,2025-01-15,team,month,49.00,3,0,active\n"
TENANTS_HEADER = "slug,name,plan\n"
TENANTS_GOOD = "fuzz_good,Good Co,team\n"


def structural(header: str, good: str, bad_row: str) -> dict[str, tuple[bytes, int]]:
    """Hostile bytes any CSV importer must refuse as a file: name -> (content, line named)."""
    h, g = header.encode(), good.encode()
    return {
        "binary (PNG)": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", 1),
        "latin-1": (h + g + bad_row.replace("X", "caf\xe9").encode("latin-1"), 3),
        "cp1252 quote": (h + g + bad_row.replace("X", "\u201cq\u201d").encode("cp1252"), 3),
        "NUL byte": (h + g + bad_row.replace("X", "a\0b").encode(), 3),
        "UTF-16 with BOM": (codecs.BOM_UTF16_LE + (header + good).encode("utf-16-le"), 1),
        "BOM twice": (codecs.BOM_UTF8 * 2 + h + g, 1),
        "field over 131,072 characters": (h + g + bad_row.replace("X", HUGE).encode(), 3),
        "line over 1 MiB": (h + g + b"y" * (2 << 20) + b"\n", 3),
        "unbalanced quote": (h + g + b'"' + bad_row.replace("X", "open").encode() + g, 3),
        "record over 1,000 lines": (h + g + b'"x\n",' * 3_000 + b'"end"\n', 3),
        "quote then text": (h + g + bad_row.replace("X", '"ab"c').encode(), 3),
        "CR-only line ends": ((header + good + good).replace("\n", "\r").encode(), 1),
        "wrong column count": (h + g + good.replace("\n", ",extra\n").encode(), 3),
        "header only": (h, 1),
        "empty file": (b"", 1),
        "truncated UTF-8 sequence": (h + g + bad_row.replace("X", "caf\u00e9").encode().replace(b"\xc3\xa9", b"\xc3"),
                                     3),
    }


def rows(header: str, good: str, bad: dict[str, str]) -> dict[str, tuple[bytes, int]]:
    """Files whose line 3 has a bad value (line 2 is good), plus a CRLF variant of the first."""
    cases = {name: ((header + good + row).encode(), 3) for name, row in bad.items()}
    first = next(iter(bad.values()))
    cases["CRLF with a bad row"] = ((header + good + first).replace("\n", "\r\n").encode(), 3)
    return cases


UPTIME_ROW = "X,2025-03-01T00:01:00Z,true,12\n"
UPTIME_CORPUS = {
    **structural(UPTIME_HEADER, UPTIME_GOOD, UPTIME_ROW),
    **rows(UPTIME_HEADER, UPTIME_GOOD, {
        "ok not a boolean": "api,2025-03-01T00:01:00Z,maybe,12\n",
        "huge latency": "api,2025-03-01T00:01:00Z,true,1e999999\n",
        "negative latency": "api,2025-03-01T00:01:00Z,true,-1\n",
        "NaN latency": "api,2025-03-01T00:01:00Z,true,NaN\n",
        "Infinity latency": "api,2025-03-01T00:01:00Z,true,Infinity\n",
        "10,000-digit latency": f"api,2025-03-01T00:01:00Z,true,{'9' * 10_000}\n",
        "year 1 east of UTC (year 0 in UTC)": "api,0001-01-01T00:00:00+05:00,true,1\n",
        "year 9999 west of UTC (year 10000 in UTC)": "api,9999-12-31T23:59:59-01:00,true,1\n",
        "before 2000": "api,1999-12-31T23:59:59Z,true,1\n",
        "far future": "api,2100-01-01T00:00:00Z,true,1\n",
        "no time zone": "api,2025-03-01T00:01:00,true,1\n",
        "formula-like cell": 'api,2025-03-01T00:01:00Z,"=HYPERLINK(""http://x"",""y"")",1\n',
        "duplicate of line 2": "api,2025-03-01T00:00:00Z,false,3\n",
        "target over 200 characters": f"{'t' * 201},2025-03-01T00:01:00Z,true,1\n",
    }),
}

BILLING_ROW = "X,2025-02-01,team,month,10,1,0,active\n"
BILLING_CORPUS = {
    **structural(BILLING_HEADER, BILLING_GOOD, BILLING_ROW),
    **rows(BILLING_HEADER, BILLING_GOOD, {
        "price 1e12 (numeric(18,6) holds less)": "zeta,2025-02-01,team,month,1e12,1,0,active\n",
        "seats 2^31 (int4 holds less)": "zeta,2025-02-01,team,month,10,2147483648,0,active\n",
        "MRR past bigint cents": "zeta,2025-02-01,team,month,999999999999,2147483647,0,active\n",
        "negative price": "zeta,2025-02-01,team,month,-1,1,0,active\n",
        "NaN price": "zeta,2025-02-01,team,month,NaN,1,0,active\n",
        "Infinity price": "zeta,2025-02-01,team,month,Infinity,1,0,active\n",
        "10,000-digit seats": f"zeta,2025-02-01,team,month,1,{'9' * 10_000},0,active\n",
        "seats in exponent form": "zeta,2025-02-01,team,month,1,1e3,0,active\n",
        "discount over 100": "zeta,2025-02-01,team,month,1,1,100.0001,active\n",
        "date 0001-01-01": "zeta,0001-01-01,team,month,1,1,0,active\n",
        "date 2100-01-01": "zeta,2100-01-01,team,month,1,1,0,active\n",
        "formula-like price": "zeta,2025-02-01,team,month,=1+1,1,0,active\n",
        "duplicate of line 2": "acme,2025-01-15,team,month,59.00,3,0,active\n",
        "tenant over 200 characters": f"{'t' * 201},2025-02-01,team,month,1,1,0,active\n",
    }),
}

TENANTS_ROW = "fuzz_bad,X,team\n"
TENANTS_CORPUS = {
    **structural(TENANTS_HEADER, TENANTS_GOOD, TENANTS_ROW),
    "CRLF with a short row": ((TENANTS_HEADER + TENANTS_GOOD + "fuzz_short,Short\n").replace("\n", "\r\n").encode(),
                              3),
    "more than 20,000 rows": ((TENANTS_HEADER + "".join(f"fuzz_{i},N,team\n" for i in range(20_001))).encode(),
                              20_002),
}
# Rows whose problem is the row's own: they fail (exit 1) while the file is still read whole.
TENANTS_ROW_CORPUS = {
    "formula-like slug": ('"=cmd|\' /C calc\'!A0",Evil,team\n', 2),
    "slug with a NUL escape": ("fuzz\\x00,Evil,team\n", 2),
    "name over 200 characters": (f"fuzz_long,{'n' * 201},team\n", 2),
    "unknown plan": ("fuzz_plan,Plan,=1+1\n", 2),
    "bad owner e-mail": ("slug,name,plan,owner_email\nfuzz_mail,Mail,team,not-an-address\n", 2),
}

COMMANDS = {"uptime": ("uptime", "import"), "billing": ("billing", "import"),
            "tenants": ("tenants", "provision-many")}
CORPORA = {"uptime": UPTIME_CORPUS, "billing": BILLING_CORPUS, "tenants": TENANTS_CORPUS}


def table_counts(ctx) -> dict[str, int]:
    """Rows in every catalog table, and the tenant schemas on the cluster."""
    with ctx.engine.connect() as conn:
        names = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'control_plane'")).scalars()
        counts = {t: conn.execute(text(f'SELECT count(*) FROM control_plane."{t}"')).scalar_one() for t in names}
        counts["schemas"] = conn.execute(text(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'tenant_fuzz%'")).scalar_one()
    return counts


CASES = [(kind, name) for kind, corpus in CORPORA.items() for name in corpus]


@pytest.mark.parametrize(("kind", "name"), CASES, ids=[f"{k}: {n}" for k, n in CASES])
def test_hostile_file_is_refused_whole_with_its_line(cli, ctx, tmp_path, kind, name):
    content, line = CORPORA[kind][name]
    path = tmp_path / "hostile.csv"
    path.write_bytes(content)
    before = table_counts(ctx)
    code, _, err = cli(*COMMANDS[kind], str(path))
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err
    assert re.search(rf"\bline {line}\b", err), err  # not "line 3003" for line 3
    assert len(err) < 4000  # a huge field is not echoed back
    assert table_counts(ctx) == before


@pytest.mark.parametrize("name", list(TENANTS_ROW_CORPUS))
def test_provision_many_bad_row_fails_alone_and_names_its_line(cli, ctx, tmp_path, name):
    row, line = TENANTS_ROW_CORPUS[name]
    path = tmp_path / "hostile.csv"
    path.write_text(row if row.startswith("slug,") else TENANTS_HEADER + row)
    before = table_counts(ctx)
    code, out, err = cli("tenants", "provision-many", str(path), "--format", "json")
    assert code == 1 and "Traceback" not in err
    (result,) = json.loads(out)
    assert (result["line"], result["result"]) == (str(line), "error")
    assert "0 provisioned, 0 already existed, 1 failed" in err
    assert table_counts(ctx) == before


def test_hostile_files_in_a_real_process_print_no_traceback(ctx, database_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": database_url}
    for kind, name in (("uptime", "latin-1"), ("billing", "NUL byte"), ("tenants", "field over 131,072 characters")):
        path = tmp_path / f"{kind}.csv"
        path.write_bytes(CORPORA[kind][name][0])
        result = subprocess.run([sys.executable, "-m", "control_plane", *COMMANDS[kind], str(path)],
                                capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "line 3" in result.stderr


def test_corpus_sizes():
    """The note on issue 9 quotes these: hostile inputs tried per entry point."""
    sizes = {kind: len(corpus) for kind, corpus in CORPORA.items()}
    sizes["tenants"] += len(TENANTS_ROW_CORPUS)
    assert all(size >= 15 for size in sizes.values()), sizes


def test_good_files_with_bom_crlf_and_quotes_still_import(cli, tmp_path):
    path = tmp_path / "good.csv"
    path.write_bytes(codecs.BOM_UTF8 + (UPTIME_HEADER + UPTIME_GOOD + '"api",2025-03-01T00:01:00Z,TRUE,\n')
                     .replace("\n", "\r\n").encode())
    assert cli("uptime", "import", str(path))[0] == 0
    path.write_bytes(codecs.BOM_UTF8 + (BILLING_HEADER + BILLING_GOOD + '"caf\u00e9, ""the"" one",2025-02-01,team,'
                                        "month,10,1,,trial\n").replace("\n", "\r\n").encode())
    assert cli("billing", "import", str(path))[0] == 0
    path.write_bytes(codecs.BOM_UTF8 + (TENANTS_HEADER + 'fuzz_bom,"Caf\u00e9, ""Ltd""",team\n')
                     .replace("\n", "\r\n").encode())
    code, out, err = cli("tenants", "provision-many", str(path), "--format", "json")
    assert code == 0, err
    assert json.loads(out)[0]["result"] == "ok"
