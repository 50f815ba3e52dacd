//! The standard library, embedded in the binary so that a fresh install needs no files.
//! Each file is named `<stdlib>/...` in diagnostics.

pub static FILES: &[(&str, &str)] = &[
    (
        "<stdlib>/geographies.mlc",
        include_str!("../stdlib/geographies.mlc"),
    ),
    (
        "<stdlib>/accelerators.mlc",
        include_str!("../stdlib/accelerators.mlc"),
    ),
    (
        "<stdlib>/clouds/aws.mlc",
        include_str!("../stdlib/clouds/aws.mlc"),
    ),
    (
        "<stdlib>/clouds/gcp.mlc",
        include_str!("../stdlib/clouds/gcp.mlc"),
    ),
    (
        "<stdlib>/clouds/azure.mlc",
        include_str!("../stdlib/clouds/azure.mlc"),
    ),
    (
        "<stdlib>/compliance/gdpr.mlc",
        include_str!("../stdlib/compliance/gdpr.mlc"),
    ),
    (
        "<stdlib>/compliance/hipaa.mlc",
        include_str!("../stdlib/compliance/hipaa.mlc"),
    ),
    (
        "<stdlib>/compliance/sox.mlc",
        include_str!("../stdlib/compliance/sox.mlc"),
    ),
    (
        "<stdlib>/compliance/pci_dss.mlc",
        include_str!("../stdlib/compliance/pci_dss.mlc"),
    ),
    (
        "<stdlib>/baseline.mlc",
        include_str!("../stdlib/baseline.mlc"),
    ),
];
