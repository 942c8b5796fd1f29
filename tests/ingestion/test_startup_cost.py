"""A chat-only ingest stays light: it never imports pandas (or Ibis behind it).

Importing pandas costs about half a second, a tenth of the whole 500k-message
benchmark (``benchmarks/bench_ingest.py``). pyarrow imports it lazily from
innocent-looking calls (``pa.array``, ``pa.table``, ``Array.to_numpy``), so
this runs a real ingest in a fresh interpreter and checks ``sys.modules``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from egregora_pipeline.schema import DECLARED_TABLES, create_table_sql

_INGEST = """
import sys
from pathlib import Path
import duckdb
from egregora_pipeline.ingestion import ingest
from egregora_pipeline.settings import Settings
database = Path(sys.argv[2])
conn = duckdb.connect(str(database))
report = ingest(conn, [Path(sys.argv[1])], settings=Settings(database=database), run_id="t")
conn.close()
assert report.ok, report.failed_inputs
heavy = sorted(name for name in ("pandas", "ibis") if name in sys.modules)
print(report.messages_added, len(report.inputs[0].rejections), ",".join(heavy) or "-")
"""


def test_a_chat_ingest_with_rejections_does_not_import_pandas(tmp_path: Path) -> None:
    chat = tmp_path / "WhatsApp Chat with Ana.txt"
    chat.write_text(
        "12/31/19, 11:59 PM - Ana: hello @Bruno\n"
        "12/31/19, 11:59 PM - Bruno: IMG-20191231-WA0001.jpg (file attached)\n"
        "2/30/19, 11:59 PM - Ana: a header with an impossible date\n"
        "1/1/20, 12:05 AM - Ana added Bruno\n",
        encoding="utf-8",
    )
    database = tmp_path / "warehouse.duckdb"
    conn = duckdb.connect(str(database))
    for name, table in DECLARED_TABLES.items():
        conn.execute(create_table_sql(name, table.schema))
    conn.close()

    done = subprocess.run(
        [sys.executable, "-c", _INGEST, str(chat), str(database)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    added, rejections, heavy = done.stdout.split()
    # The rejections (missing attachment, impossible date) go through the loader too.
    assert (int(added), int(rejections)) == (3, 2)
    assert heavy == "-"
