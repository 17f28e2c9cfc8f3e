package io.sluice.bench.load;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The machine a run was measured on, for result files: processors, CPU model, JDK, OS. Any
 * thread; reads {@code /proc/cpuinfo} when present.
 *
 * @param processors available processors of this JVM
 * @param cpuModel   the first {@code model name} of /proc/cpuinfo, or "unknown"
 */
public record MachineInfo(int processors, String cpuModel, String jdk, String os) {

    /** Describes this machine and JVM. */
    public static MachineInfo current() {
        return new MachineInfo(Runtime.getRuntime().availableProcessors(), cpuModel(Path.of("/proc/cpuinfo")),
                System.getProperty("java.vm.vendor") + " " + System.getProperty("java.vm.name") + " "
                        + System.getProperty("java.runtime.version"),
                System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
    }

    static String cpuModel(Path cpuinfo) {
        try {
            List<String> lines = Files.readAllLines(cpuinfo);
            for (String line : lines) {
                if (line.startsWith("model name")) {
                    int colon = line.indexOf(':');
                    return colon < 0 ? "unknown" : line.substring(colon + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
        return "unknown";
    }

    Map<String, Object> toMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("nproc", processors);
        map.put("cpu_model", cpuModel);
        map.put("jdk", jdk);
        map.put("os", os);
        return map;
    }
}
