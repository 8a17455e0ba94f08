package io.modelway.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/** CPU time (user + system, all threads) a process has used so far, in nanoseconds. */
@FunctionalInterface
interface CpuClock {
  /** The CPU time so far; empty when it cannot be read (the process is gone, or not Linux). */
  OptionalLong nanos();

  /** This JVM, native threads included (the llama.cpp threads of the direct model). */
  static CpuClock thisProcess() {
    java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean hotspot) {
      return () -> {
        long nanos = hotspot.getProcessCpuTime();
        return nanos < 0 ? OptionalLong.empty() : OptionalLong.of(nanos);
      };
    }
    return none();
  }

  /**
   * Another process, from {@code /proc/PID/stat} ({@code utime + stime}, in clock ticks).
   *
   * @param ticksPerSecond the kernel's {@code CLK_TCK} ({@code getconf CLK_TCK}, usually 100)
   */
  static CpuClock ofPid(long pid, long ticksPerSecond) {
    Path stat = Path.of("/proc", Long.toString(pid), "stat");
    return () -> {
      try {
        return OptionalLong.of(ticks(Files.readString(stat)) * 1_000_000_000L / ticksPerSecond);
      } catch (IOException | RuntimeException e) {
        return OptionalLong.empty();
      }
    };
  }

  /**
   * The whole machine: busy time summed over its CPUs, from {@code /proc/stat} (user, nice,
   * system, irq, softirq, steal; idle and iowait left out), so that the CPU other processes used
   * during a round can be told apart from the benchmark's own.
   */
  static CpuClock machine(long ticksPerSecond) {
    Path stat = Path.of("/proc/stat");
    return () -> {
      try {
        String first = Files.readAllLines(stat).get(0);
        return OptionalLong.of(busyTicks(first) * 1_000_000_000L / ticksPerSecond);
      } catch (IOException | RuntimeException e) {
        return OptionalLong.empty();
      }
    };
  }

  /** Busy ticks of the {@code cpu} line of {@code /proc/stat}. */
  static long busyTicks(String cpuLine) {
    String[] f = cpuLine.trim().split(" +");
    if (!f[0].equals("cpu")) {
      throw new IllegalArgumentException("not the cpu line of /proc/stat: " + cpuLine);
    }
    // cpu user nice system idle iowait irq softirq steal ...
    return Long.parseLong(f[1]) + Long.parseLong(f[2]) + Long.parseLong(f[3])
        + Long.parseLong(f[6]) + Long.parseLong(f[7]) + Long.parseLong(f[8]);
  }

  /** A clock that never knows. */
  static CpuClock none() {
    return OptionalLong::empty;
  }

  /**
   * {@code utime + stime} of one {@code /proc/PID/stat} line: fields 14 and 15, counted after the
   * command name, which is in parentheses and may itself hold spaces and parentheses.
   */
  static long ticks(String statLine) {
    String[] after = statLine.substring(statLine.lastIndexOf(')') + 2).trim().split(" +");
    // after[0] is field 3 (state), so field n is after[n - 3].
    return Long.parseLong(after[11]) + Long.parseLong(after[12]);
  }
}
