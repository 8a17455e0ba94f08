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
