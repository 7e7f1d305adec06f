package dev.mfn.training.report;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mfn.evaluate.Verification;
import dev.mfn.evaluate.VerificationReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * PNG charts of a run, drawn from {@code metrics.jsonl} and the verification reports: loss,
 * accuracy and learning rate per step, and each pairs set's ROC (TAR against FAR, log scale).
 * The seed project had TensorBoard; these open anywhere and travel with the model.
 */
public final class TrainingPlots {
  private static final int WIDTH = 900;
  private static final int HEIGHT = 500;

  private TrainingPlots() {}

  /** Writes the charts into {@code folder}; returns the files written. */
  public static List<Path> write(Path folder, List<JsonNode> metrics, List<VerificationReport> reports)
      throws IOException {
    System.setProperty("java.awt.headless", "true");
    Files.createDirectories(folder);
    XYSeries trainLoss = new XYSeries("training loss");
    XYSeries validLoss = new XYSeries("validation loss (end of epoch)");
    XYSeries trainAcc = new XYSeries("training accuracy (batch)");
    XYSeries validAcc = new XYSeries("validation accuracy (end of epoch)");
    XYSeries lr = new XYSeries("learning rate");
    for (JsonNode r : metrics) {
      long step = r.path("step").asLong();
      if (r.path("type").asText().equals("step")) {
        trainLoss.add(step, r.path("loss").asDouble());
        trainAcc.add(step, r.path("accuracy").asDouble());
        lr.add(step, r.path("lr").asDouble());
      } else if (r.path("type").asText().equals("epoch") && r.path("validation_loss").isNumber()) {
        validLoss.add(step, r.path("validation_loss").asDouble());
        validAcc.add(step, r.path("validation_accuracy").asDouble());
      }
    }
    List<Path> files = new ArrayList<>();
    files.add(save(folder.resolve("loss.png"), chart("Loss (softmax, then the margin loss)", "step", "loss", trainLoss, validLoss)));
    files.add(save(folder.resolve("accuracy.png"), chart("Classification accuracy", "step", "accuracy", trainAcc, validAcc)));
    files.add(save(folder.resolve("learning-rate.png"), chart("Learning rate", "step", "learning rate", lr)));
    for (VerificationReport report : reports) {
      XYSeries roc = new XYSeries(report.dataset() + " ROC");
      for (Verification.RocPoint p : report.result().roc()) {
        if (p.far() > 0) {
          roc.add(p.far(), p.tar());
        }
      }
      JFreeChart chart = chart(report.dataset() + " ROC (all folds)", "false accept rate", "true accept rate", roc);
      LogAxis far = new LogAxis("false accept rate (log)");
      far.setSmallestValue(1e-4);
      ((XYPlot) chart.getPlot()).setDomainAxis(far);
      String name = "roc-" + report.dataset().toLowerCase().replaceAll("[^a-z0-9]+", "-") + ".png";
      files.add(save(folder.resolve(name), chart));
    }
    return files;
  }

  private static JFreeChart chart(String title, String x, String y, XYSeries... series) {
    XYSeriesCollection data = new XYSeriesCollection();
    for (XYSeries s : series) {
      data.addSeries(s);
    }
    return ChartFactory.createXYLineChart(title, x, y, data, PlotOrientation.VERTICAL, true, false, false);
  }

  private static Path save(Path file, JFreeChart chart) throws IOException {
    ChartUtils.saveChartAsPNG(file.toFile(), chart, WIDTH, HEIGHT);
    return file;
  }
}
