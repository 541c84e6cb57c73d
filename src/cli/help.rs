//! `peluit --help`: the subcommands in the order of the work, grouped by who
//! runs them and where. The descriptions stay on the subcommands themselves;
//! this file only orders and heads them. Never prints anything else.

use clap::{CommandFactory, FromArgMatches};

/// Headings and their subcommands, in the order a deployment meets them.
/// `check` serves reporters (`--server`) and operators (`--data`); it is
/// listed once, where most people look for it.
pub const GROUPS: &[(&str, &[&str])] = &[
    ("Try it on this computer", &["demo"]),
    ("Set up (investigators, on the offline machine)", &["keygen", "keys"]),
    ("Run the server (operator)", &["serve"]),
    ("Report (reporters, from their own computer through Tor)", &["submit", "check"]),
    ("Handle reports (investigators)", &["pull", "trust", "decrypt", "cases", "case", "desk", "push", "verify-log"]),
    ("Look after a stopped server (operator, on the server)", &["export", "apply", "compact", "audit-disk"]),
];

/// The top-level help with the grouped subcommand list.
pub fn command<C: CommandFactory>() -> clap::Command {
    let cmd = C::command();
    let width = GROUPS.iter().flat_map(|(_, names)| names.iter()).map(|n| n.len()).max().unwrap_or(0);
    let mut list = String::new();
    for (heading, names) in GROUPS {
        list.push_str(&format!("{heading}:\n"));
        for name in *names {
            let about = cmd.find_subcommand(name).and_then(|c| c.get_about()).map(|a| a.to_string());
            list.push_str(&format!("  {name:<width$}  {}\n", about.unwrap_or_default()));
        }
        list.push('\n');
    }
    let template = format!(
        "{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{list}Run `peluit COMMAND --help` for a command's options.\n\nOptions:\n{{options}}{{after-help}}"
    );
    cmd.help_template(template)
}

/// Parses the command line with the grouped help (exits on `--help` or an
/// error, as clap does).
pub fn parse<C: CommandFactory + FromArgMatches>() -> C {
    let matches = command::<C>().get_matches();
    C::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::{command, GROUPS};

    /// Every subcommand appears in `peluit --help` under exactly one heading.
    #[test]
    fn every_subcommand_is_in_one_help_group() {
        let listed: Vec<&str> = GROUPS.iter().flat_map(|(_, names)| names.iter().copied()).collect();
        let cmd = crate::Cli::command();
        let mut names: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
        let mut sorted = listed.clone();
        names.sort_unstable();
        sorted.sort_unstable();
        assert_eq!(names, sorted, "each subcommand once: {listed:?}");
        let help = command::<crate::Cli>().render_help().to_string();
        let at = |name: &str| help.find(&format!("\n  {name} ")).unwrap_or_else(|| panic!("{name} missing:\n{help}"));
        assert!(at("demo") < at("keygen") && at("keygen") < at("serve") && at("serve") < at("submit"));
        assert!(at("submit") < at("pull") && at("pull") < at("decrypt") && at("decrypt") < at("push"));
    }
}
