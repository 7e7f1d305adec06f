# The mfn command in an image: the search service (`serve`), the trainer (`train`) and the
# retraining controller (`retrain-controller`) run from it. Two targets:
#   docker build -f docker/cli.Dockerfile --target cli      -t mfn/cli:0.1.0 .        (CPU)
#   docker build -f docker/cli.Dockerfile --target cli-cuda -t mfn/cli-cuda:0.1.0 .   (training on NVIDIA GPUs)
# after `mvn -B -DskipTests install` and `./mfn services fetch-detector` in the repository root.
# Bases pinned by version; non-root user 10001.

FROM eclipse-temurin:17.0.15_6-jre-jammy AS cli
RUN groupadd --gid 10001 mfn && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin mfn
COPY src/cli/target/mfn-cli.jar /opt/mfn/mfn-cli.jar
COPY src/cli/target/lib/ /opt/mfn/lib/
COPY build/models/mediapipe-face_detection-0.4.1657300184/ /opt/mfn/build/models/mediapipe-face_detection-0.4.1657300184/
COPY models/default/ /opt/mfn/models/default/
ENV MFN_HOME=/opt/mfn/build DJL_CACHE_DIR=/tmp/mfn/djl MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=8589934592
USER 10001
WORKDIR /opt/mfn
ENTRYPOINT ["java", "-Dmfn.repo=/opt/mfn", "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/java.util=ALL-UNNAMED", \
  "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/java.time=ALL-UNNAMED", "-cp", "/opt/mfn/mfn-cli.jar:/opt/mfn/lib/*", "dev.mfn.cli.Mfn"]
CMD ["--help"]

# Training on GPUs: CUDA runtime + cuDNN, a JRE, and the CUDA build of libtorch that DJL's PyTorch
# engine 0.36 loads through PYTORCH_LIBRARY_PATH (see the gpu overlay). libtorch is fetched at build
# time from its release archive (pass its URL and sha256 as build arguments).
FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04 AS cli-cuda
ARG LIBTORCH_URL
ARG LIBTORCH_SHA256
RUN apt-get update && apt-get install -y --no-install-recommends openjdk-17-jre-headless curl unzip ca-certificates \
 && curl -fsSL "$LIBTORCH_URL" -o /tmp/libtorch.zip && echo "$LIBTORCH_SHA256  /tmp/libtorch.zip" | sha256sum -c - \
 && unzip -q /tmp/libtorch.zip -d /opt && rm /tmp/libtorch.zip && apt-get purge -y curl unzip && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 mfn && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin mfn
COPY --from=cli /opt/mfn /opt/mfn
ENV MFN_HOME=/opt/mfn/build DJL_CACHE_DIR=/tmp/mfn/djl PYTORCH_FLAVOR=cu124 PYTORCH_LIBRARY_PATH=/opt/libtorch/lib
USER 10001
WORKDIR /opt/mfn
ENTRYPOINT ["java", "-Dmfn.repo=/opt/mfn", "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/java.util=ALL-UNNAMED", \
  "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/java.time=ALL-UNNAMED", "-cp", "/opt/mfn/mfn-cli.jar:/opt/mfn/lib/*", "dev.mfn.cli.Mfn"]
CMD ["--help"]
