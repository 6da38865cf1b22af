#!/usr/bin/env python3
"""CDK entry point: `make synth`, `python infra/app.py` or the CDK CLI (cdk.json).

Works from any working directory and with no AWS credentials; writes one CloudFormation
template per stack into <repo>/cdk.out/ (or where the CDK CLI asks).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cloudmall_infra import build_app

if __name__ == "__main__":
    build_app().synth()
