//! `mlc explain CODE`

use super::{print_err, print_out, EXIT_OK, EXIT_USAGE};
use mlc::diag::codes;

pub fn run(code: &str) -> u8 {
    if code == "all" {
        for info in codes::REGISTRY {
            print_out(&format!("mlc::{}  {}\n", info.code, info.title));
        }
        return EXIT_OK;
    }
    match codes::lookup(code) {
        Some(info) => {
            print_out(&mlc::diag::explain_text(info));
            if info.code == codes::UNKNOWN_KIND.0 {
                print_out(&kinds_text());
            }
            EXIT_OK
        }
        None => {
            print_err(&format!(
                "error: unknown diagnostic code `{code}`; run `mlc explain all` for the list\n"
            ));
            EXIT_USAGE
        }
    }
}

/// The kinds, from the schema table, so that the explanation never lists them twice.
fn kinds_text() -> String {
    use mlc::check::schema::kind_names;
    format!(
        "\nKinds a spec may declare: {}\nKinds only the standard library declares: {}\n",
        kind_names(false).join(", "),
        kind_names(true).join(", ")
    )
}
