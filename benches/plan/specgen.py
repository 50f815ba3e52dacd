"""Random `.mlc` specs shaped like real ML pipelines, for benches/plan/run.py.

A pipeline is a chain, a tree or a DAG of workloads: batch jobs (CPU or GPU) that read
datasets and trained models and write produced datasets, training jobs that read
datasets, and services and functions that serve a trained model. Source datasets live in
regions of all three clouds; about a fifth of them are personal data under
`compliance { frameworks = [gdpr] }`, so residency binds every workload they reach. About
one workload in ten is pinned to a cloud or to a region that offers its hardware (and,
when personal data reaches it, lies in a jurisdiction GDPR allows).

Regions, jurisdictions and which hardware each region offers are read from the stdlib
(`stdlib/clouds/*.mlc`, `stdlib/catalog/*.csv`), so pins are always satisfiable.
"""

import csv
import os
import random
import re

CLOUDS = ["aws", "gcp", "azure"]
# Where GDPR lets personal data go without extra safeguards (stdlib/compliance/gdpr.mlc).
GDPR_OK = {"eu", "no", "uk", "ch", "jp", "ca", "kr", "nz", "il"}

TRAIN_HARDWARE = [("T4", 1), ("L4", 1), ("A100", 8), ("H100", 8), ("A100_80GB", 8)]
BATCH_GPUS = [("T4", 1), ("T4", 1), ("L4", 1), ("L4", 1), ("A10G", 1)]
SERVICE_GPUS = [("T4", 1), ("L4", 1)]
PLATFORMS = ["aws_lambda", "gcp_cloud_functions", "azure_functions", "knative"]
PLATFORM_CLOUD = {"aws_lambda": "aws", "gcp_cloud_functions": "gcp", "azure_functions": "azure"}

SECURITY = (
    "security {\n"
    "  encryption_at_rest    = aes256 via kms\n"
    "  key_rotation          = 365 d\n"
    "  encryption_in_transit = tls13\n"
    "  network               = private\n"
    "  access                = rbac { mfa = required }\n"
    "  audit_logging         = on\n"
    "  log_retention         = 7 year\n"
    "}\n"
)


# The share of a node's vCPUs and memory pods may request (src/plan/options.rs).
ALLOCATABLE = 0.9

class Stdlib:
    """Regions (cloud, name, code, jurisdiction) and the hardware each region offers."""

    def __init__(self, root):
        self.regions = []  # (cloud, name, code, jurisdiction)
        pattern = re.compile(r'^\s*region (\w+) \{ code = "([^"]+)",.*jurisdiction = (\w+)')
        for cloud in CLOUDS:
            with open(os.path.join(root, "stdlib", "clouds", cloud + ".mlc")) as f:
                for line in f:
                    m = pattern.match(line)
                    if m:
                        self.regions.append((cloud, m.group(1), m.group(2), m.group(3)))
        self.regions.sort()
        # (cloud, region code) -> set of ("GPU", count) and the largest CPU-only VM.
        self.gpus = {}
        self.cpu = {}
        for cloud in CLOUDS:
            with open(os.path.join(root, "stdlib", "catalog", cloud + ".csv")) as f:
                for row in csv.DictReader(f):
                    key = (cloud, row["region"])
                    if row["accelerator"]:
                        name = row["accelerator"].replace("-", "_").upper()
                        self.gpus.setdefault(key, set()).add((name, row["accelerator_count"]))
                    elif row["vcpus"]:
                        vcpus = float(row["vcpus"])
                        self.cpu[key] = max(self.cpu.get(key, 0.0), vcpus)

    def offers(self, region, hardware):
        cloud, _, code, _ = region
        if hardware is None:
            return False
        kind, amount = hardware
        if kind == "cpu":
            # A node must fit a job's pod in its allocatable share (ALLOCATABLE in
            # src/plan/options.rs): the rest is the kubelet's and the node daemons'.
            return self.cpu.get((cloud, code), 0.0) * ALLOCATABLE >= amount
        return (kind.upper(), str(amount)) in self.gpus.get((cloud, code), set())


class Node:
    def __init__(self, index):
        self.index = index
        self.parents = []
        self.children = []
        self.kind = None
        self.personal = False
        self.sources = []  # source dataset names it also reads


def build_nodes(shape, n, rng):
    """n workloads in topological order, each with its kind and its parents (earlier
    workloads), as the language allows: only batch and training jobs are read by others,
    a training job reads datasets (so its parents are batch jobs), and a service or
    function serves exactly one training job. A chain's workloads each read the one
    before (a service or function only ends it), a tree's read one earlier workload, a
    DAG's read 1-3 of the ten before."""
    nodes = [Node(i) for i in range(n)]
    wanted = ["batch"] * 9 + ["train"] * 5 + ["service"] * 4 + ["function"] * 2
    for node in nodes:
        i = node.index
        kind = rng.choice(wanted) if i else rng.choice(["batch", "train"])
        if shape == "chain":
            pool = [i - 1] if i else []
        elif shape == "tree":
            pool = list(range(i))
        else:
            pool = list(range(max(0, i - 10), i))
        readable = [p for p in pool if nodes[p].kind in ("batch", "train")]
        trains = [p for p in readable if nodes[p].kind == "train"]
        batches = [p for p in readable if nodes[p].kind == "batch"]
        if kind in ("service", "function") and (not trains or (shape == "chain" and i < n - 1)):
            kind = "batch"
        if kind == "train" and i and not batches:
            kind = "batch"
        if i == 0:
            parents = []
        elif kind in ("service", "function"):
            parents = [rng.choice(trains)]
        else:
            choices = batches if kind == "train" else readable
            count = 1 if shape != "dag" else rng.choice([1, 2, 2, 3])
            parents = sorted(rng.sample(choices, min(count, len(choices))))
        node.kind = kind
        node.parents = parents
        for p in parents:
            nodes[p].children.append(i)
    return nodes


class SpecWriter:
    """Writes one spec: declarations are one line each, so that 100,000 workloads stay
    well under the 32 MiB file limit."""

    def __init__(self, stdlib, rng):
        self.stdlib = stdlib
        self.rng = rng
        self.lines = []
        self.any_personal = False
        self.workloads = 0

    def region_ref(self, region):
        return f"{region[0]}.{region[1]}"

    def source_dataset(self, name, personal):
        rng = self.rng
        if personal:
            region = rng.choice([r for r in self.stdlib.regions if r[3] in GDPR_OK])
            extra = ", classification = personal_data, retention = 395 d, consent = on"
            self.any_personal = True
        else:
            region = rng.choice(self.stdlib.regions)
            extra = ""
        size = rng.choice([50, 120, 400, 800, 2000, 5000, 20000])
        self.lines.append(
            f"dataset {name} {{ size = {size} GB, location = {self.region_ref(region)}{extra} }}"
        )

    def pin(self, node, hardware):
        """` cloud = x` or ` region = x.y` for about one workload in ten, or ``."""
        rng = self.rng
        roll = rng.random()
        if roll >= 0.10 or hardware is None:
            return ""
        regions = [r for r in self.stdlib.regions if self.stdlib.offers(r, hardware)]
        if node.personal:
            regions = [r for r in regions if r[3] in GDPR_OK]
        if not regions:
            return ""
        region = rng.choice(regions)
        if roll < 0.05 and node.kind != "function":
            return f", cloud = {region[0]}"
        return f", region = {self.region_ref(region)}"

    def pipeline(self, prefix, shape, n, personal_share=0.2):
        rng = self.rng
        nodes = build_nodes(shape, n, rng)
        name = {}
        for node in nodes:
            short = {"batch": "b", "train": "t", "service": "s", "function": "f"}[node.kind]
            name[node.index] = f"{prefix}{short}{node.index}"
        # Source data: every root reads one or two datasets; a batch or training job
        # elsewhere reads one more now and then.
        source_count = 0
        for node in nodes:
            reads_sources = node.kind in ("batch", "train") and (
                not node.parents or rng.random() < 0.15
            )
            if reads_sources:
                for _ in range(1 if node.parents else rng.choice([1, 1, 2])):
                    src = f"{prefix}d{source_count}"
                    source_count += 1
                    personal = rng.random() < personal_share
                    self.source_dataset(src, personal)
                    node.sources.append(src)
                    node.personal = node.personal or personal
            node.personal = node.personal or any(nodes[p].personal for p in node.parents)
        for node in nodes:
            self.workload(node, nodes, name, prefix)
            self.workloads += 1

    def workload(self, node, nodes, name, prefix):
        rng = self.rng
        me = name[node.index]
        reads = [f"dataset.{s}" for s in node.sources]
        for p in node.parents:
            parent = nodes[p]
            if parent.kind == "train":
                reads.append(f"train.{name[p]}")
            else:
                reads.append(f"dataset.{name[p]}_out")
        if node.kind == "batch":
            writes = bool(node.children) or rng.random() < 0.5
            if writes:
                size = rng.choice([5, 20, 60, 200, 800, 3000])
                self.lines.append(f"dataset {me}_out {{ size = {size} GB, retention = 395 d }}")
            if rng.random() < 0.6:
                # Sizes that fit 90% of the catalog's 8, 16 and 32 vCPU types (4 GiB each).
                cpus = rng.choice([3, 7, 14, 28])
                hardware = ("cpu", cpus)
                compute = f"cpu = {cpus}, memory = {cpus * 4} GiB"
            else:
                hardware = rng.choice(BATCH_GPUS)
                compute = f"accelerator = {hardware[0]} x {hardware[1]}"
            runtime = rng.choice(["30 min", "1 h", "2 h", "4 h", "6 h"])
            runs = rng.choice(["1 / day", "1 / week", "4 / month", "1 / month"])
            capacity = rng.choice(["on_demand", "on_demand", "spot fallback on_demand"])
            nodes_attr = rng.choice([1, 1, 2, 4])
            output = f", output = dataset.{me}_out" if writes else ""
            self.lines.append(
                f"batch {me} {{ inputs = [{', '.join(reads)}]{output}, {compute}, "
                f"nodes = {nodes_attr}, max_runtime = {runtime}, runs = {runs}, "
                f"capacity = {capacity}{self.pin(node, hardware)} }}"
            )
        elif node.kind == "train":
            accel, per_node = rng.choice(TRAIN_HARDWARE)
            gpus = per_node * rng.choice([1, 1, 2])
            hidden = rng.choice([256, 512, 1024])
            runtime = rng.choice(["2 h", "8 h", "24 h", "48 h"])
            runs = rng.choice(["1 / month", "2 / month", "4 / month"])
            spot = rng.random() < 0.4
            capacity = (
                "capacity = spot fallback on_demand, checkpoint = every 30 min"
                if spot
                else "capacity = on_demand"
            )
            precision = "fp16" if accel == "T4" else "bf16"
            data = reads[0] if len(reads) == 1 else f"[{', '.join(reads)}]"
            self.lines.append(
                f"train {me} {{ data = {data}, "
                f"model = mlp {{ input = 64, hidden = [{hidden}], output = 2 }}, "
                f"parallelism = data {{ gpus = {gpus} }}, accelerator = {accel} x {per_node}, "
                f"batch_size = 1024, optimizer = adamw {{ lr = 1e-3 }}, precision = {precision}, "
                f"max_runtime = {runtime}, runs = {runs}, {capacity}"
                f"{self.pin(node, (accel, per_node))} }}"
            )
        elif node.kind == "service":
            model = reads[0]
            if rng.random() < 0.5:
                hardware = rng.choice(SERVICE_GPUS)
                resources = f"cpu = 2..3, memory = 4 GiB..8 GiB, accelerator = {hardware[0]} x 1"  # fits 90% of a 4-vCPU GPU VM
            else:
                cpus = rng.choice([1, 2, 4])
                hardware = ("cpu", cpus)
                resources = f"cpu = {cpus}..{cpus * 2}, memory = {cpus * 2} GiB..{cpus * 4} GiB"
            low = rng.choice([1, 2, 3])
            capacity = rng.choice(["on_demand", "on_demand", "reserved_1y"])
            self.lines.append(
                f"service {me} {{ model = {model}, replicas = {low}..{low * 4}, "
                f"requests = {rng.choice([5, 50, 200])}M / month, capacity = {capacity}"
                f"{self.pin(node, hardware)}, resources {{ {resources} }} }}"
            )
        else:  # function
            model = reads[0]
            platform = rng.choice(PLATFORMS)
            pin = ""
            if platform in PLATFORM_CLOUD and rng.random() < 0.1:
                cloud = PLATFORM_CLOUD[platform]
                regions = [
                    r
                    for r in self.stdlib.regions
                    if r[0] == cloud and (not node.personal or r[3] in GDPR_OK)
                ]
                pin = f", region = {self.region_ref(rng.choice(regions))}"
            memory = rng.choice([512, 1024, 2048])
            self.lines.append(
                f"function {me} {{ model = {model}, platform = {platform}, runtime = python3.12, "
                f"memory = {memory} MiB, timeout = 30 s, avg_duration = {rng.choice([50, 200, 800])} ms, "
                f"invocations = {rng.choice([1, 10, 60])}M / month{pin} }}"
            )

    def text(self, title):
        head = [
            f"# {title}",
            "# Generated by benches/plan/specgen.py; do not edit.",
            "",
            'project bench { owner = "bench@acme.example" }',
            "",
            "clouds { allow = [aws, gcp, azure] }",
            "",
        ]
        if self.any_personal:
            head += ["compliance { frameworks = [gdpr] }", "", SECURITY]
        return "\n".join(head + self.lines) + "\n"


def optimality_spec(stdlib, shape, n, seed):
    """One pipeline of n workloads of the given shape (`chain`, `tree`, `dag`)."""
    rng = random.Random(f"{shape}-{n}-{seed}")
    writer = SpecWriter(stdlib, rng)
    writer.pipeline("", shape, n)
    return writer.text(f"{shape} of {n} workloads, seed {seed}")


def scale_spec(stdlib, workloads, seed):
    """Many independent pipelines of 3-30 workloads (random shapes), `workloads` in all."""
    rng = random.Random(f"scale-{workloads}-{seed}")
    writer = SpecWriter(stdlib, rng)
    k = 0
    while writer.workloads < workloads:
        n = min(rng.randint(3, 30), workloads - writer.workloads)
        writer.pipeline(f"p{k}_", rng.choice(["chain", "tree", "dag"]), n)
        k += 1
    return writer.text(f"{workloads} workloads in {k} pipelines of 3-30, seed {seed}")
