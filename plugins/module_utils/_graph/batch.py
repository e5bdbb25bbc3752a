# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reads no listing serves, sent in JSON batches (`/$batch`, microsoft-graph-docs-contrib concepts/json-batching.md):
one request carries 20 reads, though Graph still throttles each read inside on its own."""

from __future__ import annotations

from urllib.parse import quote, urlencode

BATCH_SIZE = 20  # "JSON batch requests are currently limited to 20 individual requests" (json-batching)


def batched_get(graph, reads, api):
    """[answer body, or None for a 404] of GET reads, each (path, params), sent BATCH_SIZE to a `$batch` (one request
    where each read alone would be one; Graph still throttles each read inside on its own). A read answered anything
    else inside the batch is sent again on its own, so the transport's retry policy rides out a throttled or failed
    one and any other error fails as the read alone does (its permission hint, request-id and all)."""
    answers = []
    for start in range(0, len(reads), BATCH_SIZE):
        chunk = reads[start:start + BATCH_SIZE]
        if len(chunk) == 1:  # a batch of one is a request of its own, only longer
            answers.append(graph.get_or_none(chunk[0][0], api=api, params=chunk[0][1]))
            continue
        steps = [{"id": str(index), "method": "GET", "url": "/" + path + ("?" + urlencode(params, safe="$,()'", quote_via=quote) if params else "")}
                 for index, (path, params) in enumerate(chunk)]
        batch = graph.request("POST", "$batch", api=api, body={"requests": steps}, idempotent=True) or {}
        by_id = {str(response.get("id")): response for response in batch.get("responses") or ()}
        for index, (path, params) in enumerate(chunk):
            response = by_id.get(str(index)) or {}
            status = response.get("status")
            body = response.get("body") if isinstance(response.get("body"), dict) else {}
            if status == 200:
                answers.append(body)
            elif status == 404:
                answers.append(None)
            else:
                answers.append(graph.get_or_none(path, api=api, params=params))
    return answers
