//! What a workload's pods may request of a node: its capacity less what the cloud's
//! Kubernetes keeps for the kubelet and the system (the documented reservation by machine
//! size and max pods), the eviction threshold, the cloud's system DaemonSets, and on GKE
//! the Cloud Storage FUSE sidecar that each pod mounting a bucket gets. One function for
//! the planner (which node types fit, how many replicas a node holds) and the emitter
//! (a job's requests, a pool's size), so that plan and build agree (docs/plan.md, "Pods
//! that fit").

const MIB: f64 = 1.0 / 1024.0;

/// vCPUs and GiB of memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resources {
    pub vcpus: f64,
    pub memory_gib: f64,
}

/// What the pods of workloads may request together on one node of `cloud` with
/// `vcpus` and `memory_gib`: allocatable less the system DaemonSets. Zero where nothing
/// is left.
pub fn room(cloud: &str, vcpus: f64, memory_gib: f64) -> Resources {
    let (reserved_cpu, reserved_memory) = match cloud {
        "aws" => (
            cpu_reservation(vcpus),
            eks_memory_reservation(vcpus) + EVICTION_GIB,
        ),
        "gcp" => (
            cpu_reservation(vcpus),
            gke_memory_reservation(memory_gib) + EVICTION_GIB,
        ),
        "azure" => (
            aks_cpu_reservation(vcpus),
            aks_memory_reservation(memory_gib) + EVICTION_GIB,
        ),
        // A site's own Kubernetes: its reservations are not known; a tenth is kept.
        _ => (vcpus * 0.1, memory_gib * 0.1),
    };
    let daemons = system_daemonsets(cloud);
    Resources {
        vcpus: (vcpus - reserved_cpu - daemons.vcpus).max(0.0),
        memory_gib: (memory_gib - reserved_memory - daemons.memory_gib).max(0.0),
    }
}

/// The hard eviction threshold every cloud sets (`memory.available<100Mi`).
const EVICTION_GIB: f64 = 100.0 * MIB;

/// What each pod adds beside its own containers: on GKE the Cloud Storage FUSE sidecar
/// (its default requests, 250m CPU and 256 MiB), counted for every pod so that a pod
/// which mounts no bucket is never short.
pub fn per_pod(cloud: &str) -> Resources {
    match cloud {
        "gcp" => Resources {
            vcpus: 0.25,
            memory_gib: 256.0 * MIB,
        },
        _ => Resources {
            vcpus: 0.0,
            memory_gib: 0.0,
        },
    }
}

/// What one pod that has a node to itself may request: the room less its sidecar.
pub fn whole_node(cloud: &str, vcpus: f64, memory_gib: f64) -> Resources {
    let room = room(cloud, vcpus, memory_gib);
    let pod = per_pod(cloud);
    Resources {
        vcpus: (room.vcpus - pod.vcpus).max(0.0),
        memory_gib: (room.memory_gib - pod.memory_gib).max(0.0),
    }
}

/// How many pods requesting `request` fit on one node of `cloud` with `vcpus` and
/// `memory_gib`, rounded down.
pub fn pods_per_node(cloud: &str, vcpus: f64, memory_gib: f64, request: Resources) -> u64 {
    let room = room(cloud, vcpus, memory_gib);
    let pod = per_pod(cloud);
    let by_cpu = room.vcpus / (request.vcpus + pod.vcpus).max(f64::MIN_POSITIVE);
    let memory = request.memory_gib + pod.memory_gib;
    let by_memory = if memory > 0.0 {
        room.memory_gib / memory
    } else {
        f64::INFINITY
    };
    // A hair of slack: 2 vCPU on 7.2 of room is 3.6, never 3.5999.
    (by_cpu.min(by_memory) + 1e-9).floor().clamp(0.0, 1e6) as u64
}

/// The kubelet's and system's CPU reservation on GKE and EKS (AL2023): 6% of the first
/// core, 1% of the second, 0.5% of the third and fourth, 0.25% above.
/// GKE: https://cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes#cpu_reservations
fn cpu_reservation(vcpus: f64) -> f64 {
    let band = |from: f64, to: f64| (vcpus.min(to) - from).max(0.0);
    0.06 * band(0.0, 1.0)
        + 0.01 * band(1.0, 2.0)
        + 0.005 * band(2.0, 4.0)
        + 0.0025 * band(4.0, f64::INFINITY)
}

/// AKS's CPU reservation, by its documented table: 60m for 1 core, 100m for 2, 140m for
/// 4, then 10m a core (180m for 8, 260m for 16, 420m for 32, 740m for 64); between the
/// table's sizes, linear.
/// https://learn.microsoft.com/azure/aks/node-resource-reservations
fn aks_cpu_reservation(vcpus: f64) -> f64 {
    let millis = match vcpus {
        v if v <= 1.0 => 60.0 * v,
        v if v <= 2.0 => 60.0 + 40.0 * (v - 1.0),
        v if v <= 4.0 => 100.0 + 20.0 * (v - 2.0),
        v => 140.0 + 10.0 * (v - 4.0),
    };
    millis / 1000.0
}

/// GKE's memory reservation: 25% of the first 4 GiB, 20% of the next 4, 10% of the next
/// 8, 6% of the next 112, 2% above 128 GiB.
/// https://cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes#memory_reservations
fn gke_memory_reservation(memory_gib: f64) -> f64 {
    let band = |from: f64, to: f64| (memory_gib.min(to) - from).max(0.0);
    0.25 * band(0.0, 4.0)
        + 0.2 * band(4.0, 8.0)
        + 0.1 * band(8.0, 16.0)
        + 0.06 * band(16.0, 128.0)
        + 0.02 * band(128.0, f64::INFINITY)
}

/// EKS (AL2023 AMIs): 255 MiB plus 11 MiB per pod the node may run. The build leaves max
/// pods to the VPC CNI, which derives it from the instance's network interfaces; by
/// vCPUs, the EKS max-pods table (eni-max-pods.txt) of the general, compute, memory and
/// GPU families gives at most 29 (2 vCPUs), 58 (up to 8), 234 (up to 48) and 737 above.
/// https://github.com/awslabs/amazon-eks-ami (nodeadm kube-reserved), research/offline-validation.md
fn eks_memory_reservation(vcpus: f64) -> f64 {
    let max_pods = match vcpus {
        v if v <= 2.0 => 29.0,
        v if v <= 8.0 => 58.0,
        v if v <= 48.0 => 234.0,
        _ => 737.0,
    };
    (255.0 + 11.0 * max_pods) * MIB
}

/// AKS (1.29 and later): 20 MiB per pod the node may run plus 50 MiB, or a quarter of
/// the node's memory if that is less; the build sets max pods to [`AKS_MAX_PODS`] on
/// every pool.
/// https://learn.microsoft.com/azure/aks/node-resource-reservations
fn aks_memory_reservation(memory_gib: f64) -> f64 {
    ((20.0 * AKS_MAX_PODS + 50.0) * MIB).min(memory_gib / 4.0)
}

/// `max_pods` of every AKS pool (targets/terraform/azure/cluster.tf).
pub const AKS_MAX_PODS: f64 = 50.0;

/// An allowance for the cloud's own DaemonSets on every node (kube-proxy, the network
/// plugin, CSI node drivers, log and metrics agents), from their manifests' requests:
/// EKS aws-node 25m, kube-proxy 100m, Pod Identity agent and the Mountpoint S3 driver;
/// GKE kube-proxy 100m, fluentbit, the metrics agent, the PD and FUSE CSI drivers and
/// Dataplane V2's anetd; AKS kube-proxy 100m, Azure CNS, the IP masquerade agent, the
/// cloud node manager and the disk, file and blob CSI drivers.
fn system_daemonsets(cloud: &str) -> Resources {
    let (vcpus, memory_mib) = match cloud {
        "aws" => (0.15, 200.0),
        "gcp" => (0.4, 500.0),
        "azure" => (0.3, 400.0),
        _ => (0.0, 0.0),
    };
    Resources {
        vcpus,
        memory_gib: memory_mib * MIB,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_follow_the_documented_bands() {
        // GKE's worked examples: 1 core 60m, 2 cores 70m, 4 cores 80m, 8 cores 90m.
        for (cores, millis) in [
            (1.0, 60.0),
            (2.0, 70.0),
            (4.0, 80.0),
            (8.0, 90.0),
            (64.0, 230.0),
        ] {
            assert!(
                (cpu_reservation(cores) * 1000.0 - millis).abs() < 1e-9,
                "{cores}"
            );
        }
        // 30 GiB (n1-standard-8): 1 + 0.8 + 0.8 + 0.84 = 3.44 GiB.
        assert!((gke_memory_reservation(30.0) - 3.44).abs() < 1e-9);
        assert!((gke_memory_reservation(256.0) - (1.0 + 0.8 + 0.8 + 6.72 + 2.56)).abs() < 1e-9);
        assert!((eks_memory_reservation(4.0) - (255.0 + 638.0) / 1024.0).abs() < 1e-9);
        // AKS's own table.
        let aks = [
            (1.0, 60.0),
            (2.0, 100.0),
            (4.0, 140.0),
            (8.0, 180.0),
            (64.0, 740.0),
        ];
        for (cores, millis) in aks {
            assert!(
                (aks_cpu_reservation(cores) * 1000.0 - millis).abs() < 1e-9,
                "{cores}"
            );
        }
        assert!((aks_memory_reservation(64.0) - 1050.0 / 1024.0).abs() < 1e-9);
        assert!((aks_memory_reservation(2.0) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn an_n1_standard_8_holds_less_than_ninety_percent() {
        // The case: 27 GiB asked on an n1-standard-8 (30 GiB) does not fit.
        let room = whole_node("gcp", 8.0, 30.0);
        assert!(room.memory_gib < 27.0, "{room:?}");
        assert!(room.memory_gib > 25.0, "{room:?}");
        let fit =
            |vcpus, memory_gib| pods_per_node("gcp", 8.0, 30.0, Resources { vcpus, memory_gib });
        assert_eq!(fit(2.0, 4.0), 3);
        assert_eq!(fit(8.0, 1.0), 0);
    }

    #[test]
    fn sites_keep_a_tenth() {
        let room = whole_node("onprem", 10.0, 100.0);
        assert!((room.vcpus - 9.0).abs() < 1e-9 && (room.memory_gib - 90.0).abs() < 1e-9);
    }
}
