"""Submit the main job to a fresh Ray head with its dashboard, through the jobs API that `ray
job submit` uses, and print the outcome as one JSON line. Run by tests/jobs/test_ray_job.py in its
own process, so that this head does not meet the session's local Ray."""

from __future__ import annotations

import json
import socket
import sys
import time

from ray.cluster_utils import Cluster
from ray.job_submission import JobStatus, JobSubmissionClient

DONE = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def main() -> None:
    port = free_port()
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 2, "include_dashboard": True, "dashboard_host": "127.0.0.1",
        "dashboard_port": port,
        # its own agent port: the test session's Ray holds the default one
        "dashboard_agent_listen_port": free_port()})  # fmt: skip
    try:
        client = JobSubmissionClient(f"http://127.0.0.1:{port}")
        ready = time.monotonic() + 90
        while True:  # the head's job agent comes up a little after the dashboard
            try:
                job = client.submit_job(entrypoint=f"{sys.executable} -m bot4 run --seconds 3")
                break
            except RuntimeError as exc:
                if "No available agent" not in str(exc) or time.monotonic() > ready:
                    raise
                time.sleep(1)
        deadline = time.monotonic() + 240
        while client.get_job_status(job) not in DONE:
            if time.monotonic() > deadline:
                client.stop_job(job)
                break
            time.sleep(0.5)
        status = client.get_job_status(job)
        print(json.dumps({"status": status.value, "logs": client.get_job_logs(job)}))
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    main()
