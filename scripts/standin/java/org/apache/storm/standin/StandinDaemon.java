package org.apache.storm.standin;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;

/**
 * Stand-in for a Storm daemon (not Apache Storm). It occupies what the real daemon occupies:
 * nimbus and drpc hold their Thrift port, ui and logviewer answer HTTP on theirs, supervisor
 * listens on nothing and keeps a heartbeat file under storm.local.dir. The launcher (bin/storm)
 * passes everything as system properties, so this class reads no Storm config itself.
 */
public final class StandinDaemon {
    private StandinDaemon() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: StandinDaemon nimbus|supervisor|ui|logviewer|drpc");
            System.exit(2);
        }
        String daemon = args[0];
        String version = System.getProperty("storm.standin.version", "unknown");
        String bind = System.getProperty("storm.standin.bind", "0.0.0.0");
        int port = Integer.getInteger("storm.standin.port", -1);
        log(daemon, "stand-in Storm " + version + " " + daemon + " starting (not Apache Storm)");
        switch (daemon) {
            case "nimbus":
            case "drpc":
                holdPort(daemon, bind, port);
                break;
            case "ui":
            case "logviewer":
                serveHttp(daemon, bind, port, version);
                break;
            case "supervisor":
                heartbeat(daemon, System.getProperty("storm.local.dir", "storm-local"));
                break;
            default:
                System.err.println("unknown daemon: " + daemon);
                System.exit(2);
        }
    }

    /** Accepts and closes connections: enough for port checks, no Thrift spoken. */
    private static void holdPort(String daemon, String bind, int port) throws IOException {
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(bind, port));
        log(daemon, "listening on " + bind + ":" + server.getLocalPort());
        while (true) {
            Socket client = server.accept();
            client.close();
        }
    }

    private static void serveHttp(String daemon, String bind, int port, String version)
            throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(bind, port), 0);
        String json = "{\"standin\": true, \"daemon\": \"" + daemon + "\", \"stormVersion\": \""
                + version + "\", \"supervisors\": 0, \"topologies\": 0, \"slotsTotal\": 0,"
                + " \"slotsUsed\": 0, \"slotsFree\": 0}\n";
        server.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            if (path.startsWith("/api/v1/")) {
                reply(exchange, 200, "application/json", json);
            } else if (path.equals("/") || path.equals("/index.html")) {
                reply(exchange, 200, "text/html", indexPage(daemon, version));
            } else {
                reply(exchange, 404, "text/plain", "not found\n");
            }
        });
        server.start();
        log(daemon, "listening on " + bind + ":" + server.getAddress().getPort());
    }

    /** The UI serves the release's own public/index.html when the launcher says where it is. */
    private static String indexPage(String daemon, String version) throws IOException {
        String home = System.getProperty("storm.home");
        if ("ui".equals(daemon) && home != null) {
            File index = new File(new File(home, "public"), "index.html");
            if (index.isFile()) {
                return new String(Files.readAllBytes(index.toPath()), StandardCharsets.UTF_8);
            }
        }
        return "<html><body>stand-in Storm " + version + " " + daemon + "</body></html>\n";
    }

    private static void reply(HttpExchange exchange, int status, String type, String body)
            throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type + "; charset=utf-8");
        if ("HEAD".equals(exchange.getRequestMethod())) {
            exchange.sendResponseHeaders(status, -1);
        } else {
            exchange.sendResponseHeaders(status, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
        exchange.close();
    }

    /** The real supervisor listens on no port; it keeps local state fresh instead. */
    private static void heartbeat(String daemon, String localDir) throws Exception {
        File dir = new File(localDir, "supervisor");
        if (!dir.isDirectory() && !dir.mkdirs()) {
            throw new IOException("cannot create " + dir);
        }
        File beat = new File(dir, "standin-heartbeat");
        File tmp = new File(dir, "standin-heartbeat.tmp");
        log(daemon, "heartbeat file " + beat);
        while (true) {
            try (OutputStream out = new FileOutputStream(tmp)) {
                out.write((System.currentTimeMillis() + "\n").getBytes(StandardCharsets.UTF_8));
            }
            Files.move(tmp.toPath(), beat.toPath(), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
            Thread.sleep(2000);
        }
    }

    /** Like the real daemons: a line on stdout and one in storm.log.dir/logfile.name. */
    private static void log(String daemon, String message) {
        String line = "[standin " + daemon + "] " + message;
        System.out.println(line);
        String logDir = System.getProperty("storm.log.dir");
        String logFile = System.getProperty("logfile.name");
        if (logDir == null || logFile == null) {
            return;
        }
        File dir = new File(logDir);
        if (!dir.isDirectory() && !dir.mkdirs()) {
            System.err.println("cannot create log dir " + dir);
            return;
        }
        try (OutputStream out = new FileOutputStream(new File(dir, logFile), true)) {
            out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            System.err.println("cannot write log: " + e);
        }
    }
}
