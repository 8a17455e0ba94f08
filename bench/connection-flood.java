// A flood of idle connections against a gateway, then 50 chat calls on new connections while
// they stay open. Usage: java bench/connection-flood.java PORT CONNECTIONS (loopback only).
import java.io.*;
import java.net.*;
import java.nio.charset.StandardCharsets;
import java.util.*;

public class Flood {
  public static void main(String[] a) throws Exception {
    int port = Integer.parseInt(a[0]); int n = Integer.parseInt(a[1]);
    List<Socket> flood = new ArrayList<>();
    long t0 = System.nanoTime(); int failed = 0;
    for (int i = 0; i < n; i++) {
      try { Socket s = new Socket(); s.connect(new InetSocketAddress("127.0.0.1", port), 5000); flood.add(s); }
      catch (IOException e) { failed++; }
    }
    System.out.printf("opened %d idle connections (%d failed) in %d ms%n", flood.size(), failed, (System.nanoTime() - t0) / 1_000_000);
    String chat = "{\"model\":\"sim/m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    int ok = 0; long worst = 0;
    for (int i = 0; i < 50; i++) {
      long s0 = System.nanoTime();
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 5000); s.setSoTimeout(10000);
        s.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " + chat.length() + "\r\n\r\n" + chat).getBytes(StandardCharsets.UTF_8));
        String r = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (r.startsWith("HTTP/1.1 200")) ok++; else System.out.println("call " + i + ": " + r.substring(0, Math.min(80, r.length())));
      } catch (IOException e) { System.out.println("call " + i + ": " + e); }
      worst = Math.max(worst, System.nanoTime() - s0);
    }
    System.out.printf("calls during the flood: %d/50 answered 200, slowest %d ms%n", ok, worst / 1_000_000);
    int closed = 0;
    for (Socket s : flood) { s.setSoTimeout(1); try { if (s.getInputStream().read() == -1) closed++; } catch (SocketTimeoutException e) { } catch (IOException e) { closed++; } }
    System.out.printf("flood connections already closed by the server: %d of %d%n", closed, flood.size());
    for (Socket s : flood) s.close();
  }
}
