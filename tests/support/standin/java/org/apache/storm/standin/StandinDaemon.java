package org.apache.storm.standin;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Stand-in for a Storm daemon (not Apache Storm). It occupies what the real daemon occupies:
 * nimbus and drpc hold their Thrift port, ui and logviewer answer HTTP on theirs, supervisor
 * listens on nothing and keeps a heartbeat file under storm.local.dir. Nimbus and supervisor
 * register in ZooKeeper as Storm's do (see Registry), and the UI reports what it finds there
 * at /api/v1/cluster/summary, /api/v1/supervisor/summary and /api/v1/nimbus/summary. The
 * launcher (bin/storm) passes everything as system properties, so this class reads no Storm
 * config itself.
 */
public final class StandinDaemon {
    private static final Pattern SLOTS_TOTAL = Pattern.compile("\"slotsTotal\": *(\\d+)");
    private static final long STARTED = System.currentTimeMillis() / 1000;

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
        // The ZooKeeper client logs through slf4j-simple: its warnings, not its chatter.
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel",
                System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn"));
        log(daemon, "stand-in Storm " + version + " " + daemon + " starting (not Apache Storm)");
        String localDir = System.getProperty("storm.local.dir", "storm-local");
        switch (daemon) {
            case "nimbus": {
                Registry registry = registry(daemon);
                String host = hostname();
                registry.register(registry.root() + "/nimbuses/" + host + ":" + port,
                        "{\"host\": " + quote(host) + ", \"port\": " + port
                                + ", \"version\": " + quote(version) + ", \"startTimeSecs\": "
                                + STARTED + ", \"standin\": true}");
                registry.start();
                holdPort(daemon, bind, port);
                break;
            }
            case "drpc":
                holdPort(daemon, bind, port);
                break;
            case "ui": {
                Registry registry = registry(daemon);
                registry.start();
                serveHttp(daemon, bind, port, version, registry);
                break;
            }
            case "logviewer":
                serveHttp(daemon, bind, port, version, null);
                break;
            case "supervisor": {
                Registry registry = registry(daemon);
                String id = supervisorId(localDir);
                String slots = System.getProperty("storm.standin.slots", "");
                int count = slots.isEmpty() ? 0 : slots.split(",").length;
                registry.register(registry.root() + "/supervisors/" + id,
                        "{\"id\": " + quote(id) + ", \"host\": " + quote(hostname())
                                + ", \"slotsTotal\": " + count + ", \"slotsUsed\": 0, \"ports\": ["
                                + slots + "], \"version\": " + quote(version)
                                + ", \"startTimeSecs\": " + STARTED + ", \"standin\": true}");
                registry.start();
                heartbeat(daemon, localDir);
                break;
            }
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

    private static Registry registry(String daemon) {
        return new Registry(daemon,
                System.getProperty("storm.standin.zookeeper.servers", "localhost"),
                Integer.getInteger("storm.standin.zookeeper.port", 2181),
                System.getProperty("storm.standin.zookeeper.root", "/storm"),
                Integer.getInteger("storm.standin.zookeeper.session.timeout", 20000));
    }

    /** storm.local.hostname when set, else the kernel's host name (no DNS lookup). */
    private static String hostname() {
        String configured = System.getProperty("storm.standin.hostname", "");
        if (!configured.isEmpty()) {
            return configured;
        }
        try {
            return new String(Files.readAllBytes(new File("/proc/sys/kernel/hostname").toPath()),
                    StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            try {
                return InetAddress.getLocalHost().getHostName();
            } catch (IOException again) {
                return "localhost";
            }
        }
    }

    /** Like Storm's supervisor, one id per storm.local.dir, kept across restarts. */
    private static String supervisorId(String localDir) throws IOException {
        File dir = new File(localDir, "supervisor");
        if (!dir.isDirectory() && !dir.mkdirs()) {
            throw new IOException("cannot create " + dir);
        }
        File file = new File(dir, "standin-supervisor-id");
        if (file.isFile()) {
            String id = new String(Files.readAllBytes(file.toPath()), StandardCharsets.UTF_8).trim();
            if (!id.isEmpty()) {
                return id;
            }
        }
        String id = UUID.randomUUID().toString();
        File tmp = new File(dir, "standin-supervisor-id.tmp");
        Files.write(tmp.toPath(), (id + "\n").getBytes(StandardCharsets.UTF_8));
        Files.move(tmp.toPath(), file.toPath(), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
        return id;
    }

    private static String quote(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /** Storm's /api/v1 answers, from what the registry finds in ZooKeeper. */
    private static void api(HttpExchange exchange, String path, String daemon, String version,
            Registry registry) throws IOException {
        String head = "{\"standin\": true, \"daemon\": " + quote(daemon) + ", \"stormVersion\": "
                + quote(version);
        List<String> supervisors = null;
        List<String> nimbuses = null;
        String problem = null;
        if (registry == null) {
            problem = "this daemon does not read ZooKeeper";
        } else {
            try {
                supervisors = registry.children("supervisors");
                nimbuses = registry.children("nimbuses");
            } catch (Exception e) {
                problem = e.getMessage() == null ? e.toString() : e.getMessage();
            }
        }
        if (path.equals("/api/v1/supervisor/summary") || path.equals("/api/v1/nimbus/summary")) {
            if (problem != null) {
                reply(exchange, 503, "application/json",
                        head + ", \"error\": " + quote(problem) + "}\n");
                return;
            }
            boolean sup = path.startsWith("/api/v1/supervisor/");
            reply(exchange, 200, "application/json", head + ", \"" + (sup ? "supervisors" : "nimbuses")
                    + "\": [" + String.join(", ", sup ? supervisors : nimbuses) + "]}\n");
            return;
        }
        int slots = 0;
        for (String supervisor : supervisors == null ? Collections.<String>emptyList()
                : supervisors) {
            Matcher m = SLOTS_TOTAL.matcher(supervisor);
            if (m.find()) {
                slots += Integer.parseInt(m.group(1));
            }
        }
        String body = head + ", \"supervisors\": " + (supervisors == null ? 0 : supervisors.size())
                + ", \"nimbuses\": " + (nimbuses == null ? 0 : nimbuses.size())
                + ", \"topologies\": 0, \"slotsTotal\": " + slots + ", \"slotsUsed\": 0,"
                + " \"slotsFree\": " + slots + ", \"executorsTotal\": 0, \"tasksTotal\": 0,"
                + " \"zookeeper\": " + quote(problem == null ? "connected" : problem) + "}\n";
        reply(exchange, 200, "application/json", body);
    }

    private static void serveHttp(String daemon, String bind, int port, String version,
            Registry registry) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(bind, port), 0);
        server.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            if (path.startsWith("/api/v1/")) {
                api(exchange, path, daemon, version, registry);
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
    static synchronized void log(String daemon, String message) {
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
