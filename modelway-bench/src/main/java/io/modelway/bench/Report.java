package io.modelway.bench;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;

/**
 * The summary of a run: per mode the median over its measured rounds, and each API mode's tokens
 * per second as a share of the direct mode's, from the same run. Immutable.
 */
final class Report {
  /** The target: the API at no less than this share of the binding's tokens per second. */
  static final double TARGET = 0.9;

  private final List<Mode> modes;
  private final List<RoundResult> rounds;

  /**
   * @param modes the modes in the order they ran
   * @param rounds the measured rounds (warm-up rounds left out)
   */
  Report(List<Mode> modes, Collection<RoundResult> rounds) {
    this.modes = List.copyOf(requireNonNull(modes, "modes"));
    this.rounds = List.copyOf(requireNonNull(rounds, "rounds"));
  }

  /** The median of {@code values}: the mean of the middle two for an even count; NaN for none. */
  static double median(List<Double> values) {
    List<Double> sorted = values.stream().filter(v -> !v.isNaN()).sorted().collect(Collectors.toList());
    int n = sorted.size();
    if (n == 0) {
      return Double.NaN;
    }
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  private List<Double> values(Mode mode, ToDoubleFunction<RoundResult> metric) {
    List<Double> out = new ArrayList<>();
    for (RoundResult r : rounds) {
      if (r.mode() == mode) {
        out.add(metric.applyAsDouble(r));
      }
    }
    return out;
  }

  /** Median tokens per second of {@code mode}; NaN when it did not run. */
  double tokensPerSecond(Mode mode) {
    return median(values(mode, RoundResult::tokensPerSecond));
  }

  /** Median tokens/s of {@code mode} over median tokens/s of the direct mode, when both ran. */
  OptionalDouble ratio(Mode mode) {
    double direct = tokensPerSecond(Mode.DIRECT);
    double other = tokensPerSecond(mode);
    return direct > 0 && !Double.isNaN(other) ? OptionalDouble.of(other / direct) : OptionalDouble.empty();
  }

  /** Per round number, {@code mode}'s tokens/s over the direct mode's in the same round. */
  List<Double> pairedRatios(Mode mode) {
    List<Double> out = new ArrayList<>();
    for (RoundResult r : rounds) {
      if (r.mode() != mode) {
        continue;
      }
      for (RoundResult d : rounds) {
        if (d.mode() == Mode.DIRECT && d.round() == r.round()) {
          out.add(r.tokensPerSecond() / d.tokensPerSecond());
        }
      }
    }
    return out;
  }

  /** Whether every API mode that ran reached {@link #TARGET}; false when no ratio could be made. */
  boolean targetMet() {
    boolean any = false;
    for (Mode mode : modes) {
      if (!mode.api()) {
        continue;
      }
      OptionalDouble ratio = ratio(mode);
      if (ratio.isEmpty() || ratio.getAsDouble() < TARGET) {
        return false;
      }
      any = true;
    }
    return any;
  }

  /** The tables and ratios, as Markdown. */
  String markdown() {
    StringBuilder out = new StringBuilder();
    out.append("| mode | tokens/s (median) | min | max | driver CPU µs/token | server CPU µs/token | other processes, cores |\n");
    out.append("|---|---:|---:|---:|---:|---:|---:|\n");
    for (Mode mode : modes) {
      List<Double> tps = values(mode, RoundResult::tokensPerSecond);
      out.append(String.format(Locale.ROOT, "| %s: %s | %s | %s | %s | %s | %s | %s |%n",
          mode.key(), mode.label(), whole(median(tps)),
          whole(tps.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN)),
          whole(tps.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN)),
          whole(median(values(mode, RoundResult::driverCpuMicrosPerToken))),
          whole(median(values(mode, RoundResult::serverCpuMicrosPerToken))),
          twoPlaces(median(values(mode, RoundResult::otherCores)))));
    }
    out.append('\n');
    for (Mode mode : modes) {
      if (mode == Mode.DIRECT) {
        continue;
      }
      OptionalDouble ratio = ratio(mode);
      if (ratio.isEmpty()) {
        out.append("- ").append(mode.key()).append(" / direct: n/a (the direct mode did not run)\n");
        continue;
      }
      String perRound = pairedRatios(mode).stream().map(r -> String.format(Locale.ROOT, "%.2f", r))
          .collect(Collectors.joining(", "));
      out.append(mode.api()
          ? String.format(Locale.ROOT, "- %s / direct: **%.2f** (target ≥ %.2f: %s); per round: %s%n",
              mode.key(), ratio.getAsDouble(), TARGET, ratio.getAsDouble() >= TARGET ? "met" : "**not met**",
              perRound)
          : String.format(Locale.ROOT, "- %s / direct: %.2f (no target: an experiment); per round: %s%n",
              mode.key(), ratio.getAsDouble(), perRound));
    }
    return out.toString();
  }

  static String tsvHeader() {
    return "mode\tround\trequests\ttokens\tseconds\ttokens_per_s\tdriver_cpu_s\tserver_cpu_s\tmachine_cpu_s\tother_cores";
  }

  static String tsv(RoundResult r) {
    return String.format(Locale.ROOT, "%s\t%d\t%d\t%d\t%.3f\t%.1f\t%s\t%s\t%s\t%s", r.mode().key(),
        r.round(), r.requests(), r.tokens(), r.wallNanos() / 1e9, r.tokensPerSecond(),
        seconds(r.driverCpuNanos()), seconds(r.serverCpuNanos()), seconds(r.machineCpuNanos()),
        twoPlaces(r.otherCores()));
  }

  private static String seconds(OptionalLong nanos) {
    return nanos.isPresent() ? String.format(Locale.ROOT, "%.3f", nanos.getAsLong() / 1e9) : "nan";
  }

  private static String twoPlaces(double v) {
    return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.2f", v);
  }

  private static String whole(double v) {
    return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.0f", v);
  }
}
