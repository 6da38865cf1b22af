#!/usr/bin/env python3
"""cdk8s entry point: the services topology's manifests into deploy/k8s/ (`make synth`), or a
deployment's own (`--help`). Offline; needs Node.js like the CDK app."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cloudmall_infra.k8s.manifests import main

if __name__ == "__main__":
    main()
