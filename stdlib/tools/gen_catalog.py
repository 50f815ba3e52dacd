#!/usr/bin/env python3
"""Generate mlc's compact instance catalogs from SkyPilot-schema price CSVs.

Usage (from the repository root):

    python3 stdlib/tools/gen_catalog.py [--source ../shared/catalogs/skypilot] [--out stdlib/catalog]

Python 3.11 standard library only. The output is deterministic: the same input always
gives byte-identical files, so a regenerated catalog shows up in review as a plain diff.

Sources (see ../shared/catalogs/README.md for the full provenance):
  * AWS:   skypilot-org/skypilot-catalog, catalogs/v8/aws/vms.csv at commit 00148f2
           (a 15-instance-type subset: 13 GPU types plus m6i.2xlarge and m6i.4xlarge;
           the snapshot is undated upstream, read 2026-11-28).
  * GCP:   anycloud-sh/catalog, gcp/vms.csv at commit 62ff0a9 (2026-05-20).
  * Azure: anycloud-sh/catalog, azure/vms.csv at commit 62ff0a9 (2026-05-20).

Output: one CSV per cloud with the columns

    instance_type,accelerator,accelerator_count,accelerator_memory_gib,vcpus,memory_gib,
    region,price,spot_price,flags,zones

one row per (instance type, region), prices in USD per hour for one VM, plus meta.txt
(source, dates, row counts). Rules, each chosen so that no row is invented:

  1. Kept instance types. AWS: every row of the file. GCP: every GPU machine type
     (a2/a3/a4/g2) priced as SkyPilot does, the n1-standard-8 host with each attachable
     GPU (T4, V100, P100, P4), single-host TPU slices (8 chips or fewer), and the CPU
     types n2-standard-{4,8,16,32}. Azure: every type with a GPU, and the CPU types
     Standard_D{2,4,8,16,32}s_v5. Everything else is dropped to keep the data small.
  2. On-demand price per region. Upstream prices are equal in every zone of a region
     (SkyPilot asserts this); the generator checks it and fails otherwise. An empty
     on-demand price (AWS p5e.48xlarge, sold only through capacity blocks) stays empty.
  3. Spot price per region = the minimum over the region's zones that have a spot
     price; empty when no zone has one. AWS Local Zones (zone IDs such as
     use1-atl2-az1) are excluded entirely, because many accounts cannot use them.
  4. GCP prices a GPU VM in two rows: VM + accelerator. The generated price is their
     sum in a zone that has both (SkyPilot's joint price); spot is the minimum over
     such zones of VM spot + accelerator spot. A100->a2-highgpu-{1,2,4,8}g (16 ->
     a2-megagpu-16g), A100-80GB->a2-ultragpu-*, H100->a3-highgpu-*, H100-MEGA->
     a3-megagpu-8g, H200->a3-ultragpu-8g, B200->a4-highgpu-8g, L4->g2-standard-* with
     GCP's fixed L4 count per shape.
  5. Accelerator memory per device in GiB: from GpuInfo (AWS, GCP, MiB/1024); Azure's
     GpuInfo holds only a name, so its memory comes from the vendor data sheets in
     AZURE_GPU_MEMORY_GIB below. TPU memory is left empty.
  6. Flags: `price_outlier_low` when a region's on-demand price is below 60% of the
     median over all regions for the same instance type (GCP H100/A100 show a cheap
     cluster; see the README); `spot_above_on_demand` when spot exceeds on-demand.
  7. Zones (GCP only): the region's zones that offer the row, space-separated and sorted
     (for a GPU VM, the zones that offer both the VM and the accelerator, rule 4). GKE
     node pools are placed in them: a pool in a zone without its GPU fails to create.
     AWS lists zone IDs, not the zone names an account sees, and Azure no zones, so
     theirs are empty.
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

CATALOG_DATE = "2026-05-20"
SOURCES = {
    "aws": "skypilot-org/skypilot-catalog catalogs/v8/aws/vms.csv @ 00148f2af3672e2229b4f7bf8157d5a3f36e3c35 (undated; read 2026-11-28); subset of 15 instance types",
    "gcp": "anycloud-sh/catalog gcp/vms.csv @ 62ff0a987e0c257a89235415d2877812fb1aaf29 (2026-05-20)",
    "azure": "anycloud-sh/catalog azure/vms.csv @ 62ff0a987e0c257a89235415d2877812fb1aaf29 (2026-05-20)",
}
HEADER = [
    "instance_type",
    "accelerator",
    "accelerator_count",
    "accelerator_memory_gib",
    "vcpus",
    "memory_gib",
    "region",
    "price",
    "spot_price",
    "flags",
    "zones",
]
OUTLIER_RATIO = Decimal("0.6")

# Vendor data sheets: memory per device in GiB for the GPUs Azure names.
AZURE_GPU_MEMORY_GIB = {
    "A10": "24",
    "A100": "40",
    "A100-80GB": "80",
    "H100": "80",
    "H200": "141",
    "M60": "8",
    "MI25": "16",
    "MI300X": "192",
    "T4": "16",
    "V100": "16",
    "V100-32GB": "32",
}

GCP_CPU_TYPES = {f"n2-standard-{n}" for n in (4, 8, 16, 32)}
GCP_N1_HOST = "n1-standard-8"
GCP_N1_GPUS = {"T4", "V100", "P100", "P4"}
GCP_TPU_MAX_CHIPS = 8
AZURE_CPU_TYPES = {f"Standard_D{n}s_v5" for n in (2, 4, 8, 16, 32)}
AWS_ZONE_ID = re.compile(r"[a-z]+[0-9]+-az[0-9]+")


def gcp_gpu_machine(accelerator: str, count: int, machine: str) -> bool:
    """Whether GCP machine type `machine` carries `count` x `accelerator` (rule 4)."""
    fixed = {
        "A100": {1: "a2-highgpu-1g", 2: "a2-highgpu-2g", 4: "a2-highgpu-4g", 8: "a2-highgpu-8g", 16: "a2-megagpu-16g"},
        "A100-80GB": {n: f"a2-ultragpu-{n}g" for n in (1, 2, 4, 8)},
        "H100": {n: f"a3-highgpu-{n}g" for n in (1, 2, 4, 8)},
        "H100-MEGA": {8: "a3-megagpu-8g"},
        "H200": {8: "a3-ultragpu-8g"},
        "B200": {8: "a4-highgpu-8g"},
    }
    if accelerator in fixed:
        return fixed[accelerator].get(count) == machine
    if accelerator == "L4":
        l4_per_shape = {4: 1, 8: 1, 12: 1, 16: 1, 32: 1, 24: 2, 48: 4, 96: 8}
        m = re.fullmatch(r"g2-standard-(\d+)", machine)
        return bool(m) and l4_per_shape.get(int(m.group(1))) == count
    if accelerator in GCP_N1_GPUS:
        return machine == GCP_N1_HOST
    return False


def dec(text: str) -> Decimal | None:
    return Decimal(text) if text.strip() else None


def fmt_dec(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return text


def fmt_num(text: str) -> str:
    """`8.0` -> `8`; keeps `0.333` and empty."""
    value = dec(text)
    return "" if value is None else fmt_dec(value)


def gpu_memory_gib(gpu_info: str) -> str:
    m = re.search(r"'SizeInMiB': (\d+)", gpu_info)
    return fmt_dec(Decimal(m.group(1)) / 1024) if m else ""


def read_rows(path: Path) -> list[dict[str, str]]:
    """A flexible reader: Azure's unquoted `V1,V2` gives 11 fields; extras join the last column."""
    with path.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = []
        for fields in reader:
            if len(fields) > len(header):
                fields = fields[: len(header) - 1] + [",".join(fields[len(header) - 1 :])]
            rows.append(dict(zip(header, fields)))
        return rows


def one_price(prices: set[str], what: str) -> str:
    if len(prices) != 1:
        sys.exit(f"error: on-demand price differs between zones for {what}: {sorted(prices)}")
    return next(iter(prices))


def min_spot(values) -> Decimal | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def aws(source: Path) -> list[dict]:
    groups = defaultdict(list)
    for r in read_rows(source / "aws" / "vms.csv"):
        if not AWS_ZONE_ID.fullmatch(r["AvailabilityZone"]):
            continue  # a Local Zone (rule 3)
        groups[(r["InstanceType"], r["Region"])].append(r)
    out = []
    for (itype, region), rows in groups.items():
        first = rows[0]
        out.append(
            {
                "instance_type": itype,
                "accelerator": first["AcceleratorName"],
                "accelerator_count": fmt_num(first["AcceleratorCount"]),
                "accelerator_memory_gib": gpu_memory_gib(first["GpuInfo"]),
                "vcpus": fmt_num(first["vCPUs"]),
                "memory_gib": fmt_num(first["MemoryGiB"]),
                "region": region,
                "price": one_price({r["Price"] for r in rows}, f"aws {itype} {region}"),
                "spot_price": fmt_dec(min_spot(dec(r["SpotPrice"]) for r in rows)),
            }
        )
    return out


def azure(source: Path) -> list[dict]:
    out = []
    for r in read_rows(source / "azure" / "vms.csv"):
        if not r["AcceleratorName"] and r["InstanceType"] not in AZURE_CPU_TYPES:
            continue
        accelerator = r["AcceleratorName"]
        out.append(
            {
                "instance_type": r["InstanceType"],
                "accelerator": accelerator,
                "accelerator_count": fmt_num(r["AcceleratorCount"]),
                "accelerator_memory_gib": AZURE_GPU_MEMORY_GIB.get(accelerator, ""),
                "vcpus": fmt_num(r["vCPUs"]),
                "memory_gib": fmt_num(r["MemoryGiB"]),
                "region": r["Region"],
                "price": r["Price"],
                "spot_price": r["SpotPrice"],
            }
        )
    return out


def tpu_chips(name: str) -> int | None:
    m = re.fullmatch(r"tpu-v[0-9a-z]+-(\d+)", name)
    return int(m.group(1)) if m else None


def gcp(source: Path) -> list[dict]:
    rows = read_rows(source / "gcp" / "vms.csv")
    vms = defaultdict(dict)  # (type, region) -> zone -> row
    types_in_region = defaultdict(set)  # region -> machine types
    accels = defaultdict(dict)  # (name, count, region) -> zone -> row
    for r in rows:
        if r["InstanceType"]:
            vms[(r["InstanceType"], r["Region"])][r["AvailabilityZone"]] = r
            types_in_region[r["Region"]].add(r["InstanceType"])
        else:
            count = int(Decimal(r["AcceleratorCount"]))
            accels[(r["AcceleratorName"], count, r["Region"])][r["AvailabilityZone"]] = r
    out = []
    for (itype, region), zones in vms.items():
        if itype in GCP_CPU_TYPES:
            out.append(gcp_row(itype, "", "", next(iter(zones.values())), region, zones))
    for (name, count, region), acc_zones in accels.items():
        if name.startswith("tpu-"):
            chips = tpu_chips(name)
            if chips is not None and chips <= GCP_TPU_MAX_CHIPS:
                out.append(gcp_row(name, name, str(count), None, region, acc_zones))
            continue
        for itype in sorted(types_in_region[region]):
            if gcp_gpu_machine(name, count, itype):
                row = gcp_joint(itype, name, count, region, vms[(itype, region)], acc_zones)
                if row:
                    out.append(row)
    return out


def gcp_row(itype, accelerator, count, vm_row, region, zones) -> dict:
    """A row priced from one set of zone rows (a CPU VM, or a TPU with no host VM)."""
    price = one_price({z["Price"] for z in zones.values()}, f"gcp {itype} {region}")
    return {
        "instance_type": itype,
        "accelerator": accelerator,
        "accelerator_count": count,
        "accelerator_memory_gib": "",
        "vcpus": fmt_num(vm_row["vCPUs"]) if vm_row else "",
        "memory_gib": fmt_num(vm_row["MemoryGiB"]) if vm_row else "",
        "region": region,
        "price": fmt_dec(dec(price)),
        "spot_price": fmt_dec(min_spot(dec(z["SpotPrice"]) for z in zones.values())),
        "zones": " ".join(sorted(zones)),
    }


def gcp_joint(itype, name, count, region, vm_zones, acc_zones) -> dict | None:
    """VM + accelerator in the zones that offer both (rule 4); None when no zone does."""
    shared = sorted(set(vm_zones) & set(acc_zones))
    if not shared:
        return None
    prices = {dec(vm_zones[z]["Price"]) + dec(acc_zones[z]["Price"]) for z in shared}
    price = one_price({fmt_dec(p) for p in prices}, f"gcp {itype} + {name}:{count} {region}")
    spots = []
    for z in shared:
        vm_spot, acc_spot = dec(vm_zones[z]["SpotPrice"]), dec(acc_zones[z]["SpotPrice"])
        if vm_spot is not None and acc_spot is not None:
            spots.append(vm_spot + acc_spot)
    vm = vm_zones[shared[0]]
    return {
        "instance_type": itype,
        "accelerator": name,
        "accelerator_count": str(count),
        "accelerator_memory_gib": gpu_memory_gib(acc_zones[shared[0]]["GpuInfo"]),
        "vcpus": fmt_num(vm["vCPUs"]),
        "memory_gib": fmt_num(vm["MemoryGiB"]),
        "region": region,
        "price": price,
        "spot_price": fmt_dec(min_spot(spots)),
        "zones": " ".join(shared),
    }


def add_flags(rows: list[dict]) -> None:
    """Rule 6: low regional outliers and spot above on-demand."""
    by_type = defaultdict(list)
    for r in rows:
        if r["price"]:
            by_type[(r["instance_type"], r["accelerator"], r["accelerator_count"])].append(Decimal(r["price"]))
    medians = {k: Decimal(statistics.median(v)) for k, v in by_type.items()}
    for r in rows:
        flags = []
        price, spot = dec(r["price"]), dec(r["spot_price"])
        median = medians.get((r["instance_type"], r["accelerator"], r["accelerator_count"]))
        if price is not None and median and price < median * OUTLIER_RATIO:
            flags.append("price_outlier_low")
        if price is not None and spot is not None and spot > price:
            flags.append("spot_above_on_demand")
        r["flags"] = ";".join(flags)


def sort_key(r: dict):
    return (r["instance_type"], r["accelerator"], Decimal(r["accelerator_count"] or 0), r["region"])


def write(out: Path, cloud: str, rows: list[dict]) -> None:
    add_flags(rows)
    rows.sort(key=sort_key)
    with (out / f"{cloud}.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=here.parents[2] / "shared" / "catalogs" / "skypilot")
    parser.add_argument("--out", type=Path, default=here.parent / "catalog")
    args = parser.parse_args()
    if not args.source.is_dir():
        sys.exit(f"error: source folder {args.source} not found; pass --source")
    args.out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for cloud, build in (("aws", aws), ("gcp", gcp), ("azure", azure)):
        rows = build(args.source)
        write(args.out, cloud, rows)
        counts[cloud] = len(rows)
    with (args.out / "meta.txt").open("w") as f:
        f.write(f"catalog_date={CATALOG_DATE}\n")
        for cloud in ("aws", "gcp", "azure"):
            f.write(f"source.{cloud}={SOURCES[cloud]}\n")
            f.write(f"rows.{cloud}={counts[cloud]}\n")
    print(f"wrote {args.out}: " + ", ".join(f"{c} {n} rows" for c, n in counts.items()))


if __name__ == "__main__":
    main()
