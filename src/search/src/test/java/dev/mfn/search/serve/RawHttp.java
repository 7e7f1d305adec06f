package dev.mfn.search.serve;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * One HTTP/1.1 connection written byte by byte, for what {@link java.net.http.HttpClient} hides:
 * when the body is sent, whether the connection survives an answer, what came back first.
 */
final class RawHttp implements AutoCloseable {
  /** One answer: its status line, its header block (lower case names) and its body. */
  record Answer(String statusLine, String headers, String body) {
    int status() {
      return Integer.parseInt(statusLine.split(" ")[1]);
    }

    boolean closesTheConnection() {
      return headers.contains("\nconnection: close");
    }
  }

  private final Socket socket;
  private final OutputStream out;
  private final InputStream in;

  RawHttp(String base) throws IOException {
    URI uri = URI.create(base);
    socket = new Socket(uri.getHost(), uri.getPort());
    socket.setSoTimeout(30_000);
    out = socket.getOutputStream();
    in = socket.getInputStream();
  }

  RawHttp send(String text) throws IOException {
    return send(text.getBytes(StandardCharsets.ISO_8859_1));
  }

  RawHttp send(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
    return this;
  }

  /** Reads one answer: the head, then a body of Content-Length bytes or in chunks. */
  Answer read() throws IOException {
    String head = line();
    StringBuilder headers = new StringBuilder();
    long length = 0;
    boolean chunked = false;
    for (String h = line(); !h.isEmpty(); h = line()) {
      String lower = h.toLowerCase(Locale.ROOT);
      headers.append('\n').append(lower);
      if (lower.startsWith("content-length:")) {
        length = Long.parseLong(lower.substring(15).trim());
      } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
        chunked = true;
      }
    }
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    if (chunked) {
      for (long size = Long.parseLong(line().split(";")[0].trim(), 16); size > 0; size = Long.parseLong(line().split(";")[0].trim(), 16)) {
        body.write(in.readNBytes((int) size));
        line();
      }
      line();
    } else {
      body.write(in.readNBytes((int) length));
    }
    return new Answer(head, headers.toString(), body.toString(StandardCharsets.UTF_8));
  }

  private String line() throws IOException {
    StringBuilder s = new StringBuilder();
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) {
        throw new IOException("the connection ended" + (s.isEmpty() ? "" : " after \"" + s + "\""));
      }
      if (c != '\r') {
        s.append((char) c);
      }
    }
    return s.toString();
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
