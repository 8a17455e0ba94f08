// A flood of hostile connections against a gateway on this machine, with normal calls beside it:
// IDLE connections that send nothing, SLOW_HEADS that trickle a request head a byte every two
// seconds, SLOW_BODIES that send a head and then trickle the body. While they are open, 50 chat
// calls on new connections must be answered; then it waits up to WAIT seconds for the server's
// timeouts to close the hostile ones and says how many it closed.
// Usage: java bench/connection-flood.java PORT IDLE [SLOW_HEADS SLOW_BODIES [KEY [WAIT]]]
// (loopback only; the client needs a descriptor limit above the sum: `ulimit -n 65536`).
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

public class Flood {
  static final String CHAT = "{\"model\":\"sim/m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  public static void main(String[] a) throws Exception {
    int port = Integer.parseInt(a[0]);
    int idle = Integer.parseInt(a[1]);
    int heads = a.length > 2 ? Integer.parseInt(a[2]) : 0;
    int bodies = a.length > 3 ? Integer.parseInt(a[3]) : 0;
    String key = a.length > 4 ? a[4] : "k";
    int wait = a.length > 5 ? Integer.parseInt(a[5]) : 90;

    long t0 = System.nanoTime();
    List<Socket> idles = open(port, idle);
    List<Socket> slowHeads = open(port, heads);
    List<Socket> slowBodies = open(port, bodies);
    for (Socket s : slowHeads) {
      send(s, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n");
    }
    for (Socket s : slowBodies) {
      send(s, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key
          + "\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"model\":");
    }
    System.out.printf("opened %d idle, %d slow-head and %d slow-body connections in %d ms%n",
        idles.size(), slowHeads.size(), slowBodies.size(), (System.nanoTime() - t0) / 1_000_000);

    List<Socket> trickled = new ArrayList<>(slowHeads);
    trickled.addAll(slowBodies);
    Thread trickle = new Thread(() -> {
      while (!Thread.currentThread().isInterrupted()) {
        for (Socket s : trickled) {
          if (!s.isClosed()) {
            try {
              s.getOutputStream().write(slowHeads.contains(s) ? 'X' : ' ');
            } catch (IOException e) {
              try { s.close(); } catch (IOException ignored) { }
            }
          }
        }
        try { Thread.sleep(2000); } catch (InterruptedException e) { return; }
      }
    });
    trickle.setDaemon(true);
    trickle.start();

    int ok = 0;
    long worst = 0;
    for (int i = 0; i < 50; i++) {
      long s0 = System.nanoTime();
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        s.setSoTimeout(10000);
        send(s, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key
            + "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: "
            + CHAT.length() + "\r\n\r\n" + CHAT);
        String r = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (r.startsWith("HTTP/1.1 200")) {
          ok++;
        } else {
          System.out.println("call " + i + ": " + r.substring(0, Math.min(120, r.length())));
        }
      } catch (IOException e) {
        System.out.println("call " + i + ": " + e);
      }
      worst = Math.max(worst, System.nanoTime() - s0);
    }
    System.out.printf("calls during the flood: %d/50 answered 200, slowest %d ms%n", ok,
        worst / 1_000_000);

    long deadline = System.nanoTime() + wait * 1_000_000_000L;
    int[] closed;
    do {
      Thread.sleep(5000);
      closed = new int[] {closed(idles), closed(slowHeads), closed(slowBodies)};
    } while (System.nanoTime() < deadline
        && closed[0] + closed[1] + closed[2] < idles.size() + slowHeads.size() + slowBodies.size());
    System.out.printf("closed by the server within %d s: idle %d of %d, slow-head %d of %d,"
        + " slow-body %d of %d%n", (System.nanoTime() - t0) / 1_000_000_000L, closed[0],
        idles.size(), closed[1], slowHeads.size(), closed[2], slowBodies.size());
    trickle.interrupt();
    for (List<Socket> all : List.of(idles, slowHeads, slowBodies)) {
      for (Socket s : all) {
        s.close();
      }
    }
  }

  static List<Socket> open(int port, int n) {
    List<Socket> sockets = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      try {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        sockets.add(s);
      } catch (IOException e) {
        System.out.println("connect " + i + ": " + e);
      }
    }
    return sockets;
  }

  static void send(Socket s, String text) throws IOException {
    OutputStream out = s.getOutputStream();
    out.write(text.getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  /** Connections the server closed: end of stream, a reset, or the trickler's failed write. */
  static int closed(List<Socket> sockets) throws IOException {
    int closed = 0;
    for (Socket s : sockets) {
      if (s.isClosed()) {
        closed++;
        continue;
      }
      s.setSoTimeout(1);
      try {
        while (true) {
          if (s.getInputStream().read() == -1) {
            closed++;
            break;
          }
        }
      } catch (SocketTimeoutException e) {
        // still open
      } catch (IOException e) {
        closed++;
      }
    }
    return closed;
  }
}
