//! AFL++ entry point: `roicast-fuzz-afl TARGET` reads inputs from AFL++ in persistent
//! mode and runs the target on each (see `roicast_fuzz::TARGETS`).

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(target) = roicast_fuzz::target(&name) else {
        let names: Vec<&str> = roicast_fuzz::TARGETS.iter().map(|t| t.name).collect();
        panic!("usage: roicast-fuzz-afl TARGET (one of {})", names.join(", "));
    };
    afl::fuzz!(|data: &[u8]| {
        let _ = (target.run)(data);
    });
}
