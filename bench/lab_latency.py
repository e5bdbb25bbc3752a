"""GET latency of the Graph lab on loopback: N concurrent clients (keep-alive, TLS), each making M
requests against a lab holding many objects. Run by hand; prints p50/p99; asserts nothing.

    .venv/bin/python bench/lab_latency.py [--clients 50] [--requests 40] [--objects 10000]
"""

import argparse
import ssl
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lab.graph.testing import running_lab  # noqa: E402  (repo root on sys.path first)


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_client(lab, token, paths, count, latencies, errors, start):
    context = ssl.create_default_context(cafile=lab.ca)
    with httpx.Client(base_url=lab.url, verify=context, headers={"Authorization": f"Bearer {token}"},
                      timeout=60) as http:
        http.get(paths[0])   # TLS handshake and keep-alive connection before measuring
        start.wait()   # a Barrier: everyone connected, then measure
        for index in range(count):
            began = time.perf_counter()
            response = http.get(paths[index % len(paths)])
            latencies.append(time.perf_counter() - began)
            if response.status_code != 200:
                errors.append(response.status_code)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=40, help="requests per client")
    parser.add_argument("--objects", type=int, default=10000, help="extra groups seeded before measuring")
    args = parser.parse_args()
    with running_lab() as lab:
        added = lab.client.seed({"groups": [
            {"displayName": f"Bench-{i:05d}", "mailEnabled": False, "mailNickname": f"bench{i}",
             "securityEnabled": True} for i in range(args.objects)]})["added"]["groups"]
        token = lab.client.mint_token(app=lab.apps["lab-admin"]["client_id"])
        paths = [f"/v1.0/groups/{added[i * 97 % len(added)]}" for i in range(20)] if added else []
        paths += ["/beta/deviceManagement/deviceEnrollmentConfigurations",
                  "/v1.0/groups?$filter=displayName eq 'Bench-00042'", "/v1.0/groups?$top=100"]
        latencies, errors, start = [], [], threading.Barrier(args.clients + 1)
        threads = [threading.Thread(target=run_client, args=(lab, token, paths, args.requests, latencies, errors,
                                                              start)) for _ in range(args.clients)]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
    print(f"objects={args.objects + 5} clients={args.clients} requests={len(latencies)} errors={len(errors)}")
    print(f"GET latency p50={percentile(latencies, 0.5) * 1000:.1f} ms  p99={percentile(latencies, 0.99) * 1000:.1f} ms"
          f"  mean={statistics.mean(latencies) * 1000:.1f} ms  throughput={len(latencies) / elapsed:.0f} req/s")


if __name__ == "__main__":
    main()
