# The Flink jobs image (ingest and embed) for the Flink Kubernetes Operator, application mode.
# Build from the repository root after `mvn -B -Pjob-jar -DskipTests package -pl flink-jobs/ingest,flink-jobs/embed -am`
# and `./mfn services fetch-detector`:
#   docker build -f docker/flink-jobs.Dockerfile -t mfn/flink-jobs:0.1.0 .
# Base pinned to the Flink release the jobs are built against (parent pom: flink.version).
FROM flink:2.2.1-scala_2.12-java17
COPY --chown=flink:flink flink-jobs/ingest/target/mfn-flink-ingest-job.jar /opt/flink/usrlib/mfn-flink-ingest-job.jar
COPY --chown=flink:flink flink-jobs/embed/target/mfn-flink-embed-job.jar /opt/flink/usrlib/mfn-flink-embed-job.jar
# The libraries with native code (OpenCV, DJL + PyTorch, ONNX Runtime) on Flink's own class path,
# loaded parent-first (classloader.parent-first-patterns.additional in the FlinkDeployments): a
# native library loads once per TaskManager and survives a failover's new user-code class loader
# (else "native library already loaded in another classloader"). The job-jar profile copies them.
COPY --chown=flink:flink flink-jobs/embed/target/native-lib/ /opt/flink/lib/
# the BlazeFace weights (fetched with npm, sha256-checked) travel in the image: no download at run time
COPY --chown=flink:flink build/models/mediapipe-face_detection-0.4.1657300184/ /opt/mfn/detector/
# the image's own non-root user (uid 9999); the FlinkDeployments run as it
USER flink
