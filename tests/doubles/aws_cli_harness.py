"""Run the real ``baseline`` CLI in this process against moto S3 + the Comprehend double, for kill tests.

Usage: ``python aws_cli_harness.py STATE_DIR BUCKET KNOBS_JSON -- <baseline arguments>``

The test that starts this process sends it real signals (SIGTERM, SIGINT, SIGHUP). moto is
in-process, so the doubles live here, beside the CLI; what they hold when the CLI returns is
written to ``STATE_DIR/state.json`` (live Comprehend resources, S3 keys, the operations called),
and ``STATE_DIR/phase-<Operation>`` appears when a request for that operation first arrives, so
the test knows when training, prediction or teardown is under way.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main() -> int:
    state_dir, bucket, knobs_json = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    argv = sys.argv[sys.argv.index("--") + 1:]
    knobs = json.loads(knobs_json)
    import boto3
    from moto import mock_aws

    from baseline.cli import main as baseline_main
    from doubles.aws_services import AwsDouble

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=bucket)
        delay = knobs.pop("delay_answer", None)
        with AwsDouble(s3=s3, **knobs) as d:
            os.environ["AWS_ENDPOINT_URL_COMPREHEND"] = d.url
            for op in ("CreateDocumentClassifier", "DescribeDocumentClassifier", "CreateEndpoint", "ClassifyDocument",
                       "DeleteEndpoint", "DeleteDocumentClassifier", "StopTrainingDocumentClassifier"):
                d.on_op(op, lambda o: (state_dir / f"phase-{o}").touch())
            if delay:
                d.delay_answer(delay["op"], delay["seconds"], delay.get("times", 1))
            rc = 99
            try:
                rc = baseline_main(argv)
            finally:
                keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
                state = {"rc": rc, "live": d.live_resources(), "s3": keys, "gone": d.gone,
                         "ops": [r["op"] for r in d.requests]}
                (state_dir / "state.json").write_text(json.dumps(state, indent=2), encoding="utf-8")
    return rc


if __name__ == "__main__":
    sys.exit(main())
