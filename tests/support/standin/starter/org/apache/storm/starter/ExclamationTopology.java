package org.apache.storm.starter;

import java.util.Map;
import org.apache.storm.Config;
import org.apache.storm.StormSubmitter;
import org.apache.storm.task.OutputCollector;
import org.apache.storm.task.TopologyContext;
import org.apache.storm.testing.TestWordSpout;
import org.apache.storm.topology.OutputFieldsDeclarer;
import org.apache.storm.topology.TopologyBuilder;
import org.apache.storm.topology.base.BaseRichBolt;
import org.apache.storm.tuple.Fields;
import org.apache.storm.tuple.Tuple;
import org.apache.storm.tuple.Values;

/**
 * Stand-in for storm-starter's ExclamationTopology (Apache publishes no storm-starter jar of
 * Storm 2.x or 1.2.4 on Maven Central), written for the test mirror with the same shape: Apache's
 * TestWordSpout (from storm-client) feeding two ExclamationBolts in a row, on three workers,
 * submitted under the name given as the first argument.
 */
public final class ExclamationTopology {
    private ExclamationTopology() {
    }

    /** Appends "!!!" to each word, anchored to its input, and acks the input. */
    public static final class ExclamationBolt extends BaseRichBolt {
        private OutputCollector collector;

        // A raw Map: Storm 1.x declares prepare(Map, ...), 2.x prepare(Map<String, Object>, ...).
        @Override
        @SuppressWarnings("rawtypes")
        public void prepare(Map conf, TopologyContext context,
                OutputCollector collector) {
            this.collector = collector;
        }

        @Override
        public void execute(Tuple tuple) {
            collector.emit(tuple, new Values(tuple.getString(0) + "!!!"));
            collector.ack(tuple);
        }

        @Override
        public void declareOutputFields(OutputFieldsDeclarer declarer) {
            declarer.declare(new Fields("word"));
        }
    }

    public static void main(String[] args) throws Exception {
        TopologyBuilder builder = new TopologyBuilder();
        builder.setSpout("word", new TestWordSpout(), 2);
        builder.setBolt("exclaim1", new ExclamationBolt(), 3).shuffleGrouping("word");
        builder.setBolt("exclaim2", new ExclamationBolt(), 2).shuffleGrouping("exclaim1");
        Config conf = new Config();
        conf.setNumWorkers(3);
        String name = args.length > 0 ? args[0] : "test";
        StormSubmitter.submitTopology(name, conf, builder.createTopology());
    }
}
