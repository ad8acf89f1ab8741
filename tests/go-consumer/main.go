// A consumer of credproc serve for the end-to-end tests: the AWS SDK for Go v1 (`v1`) or v2 (`v2`), as
// Debian packages them, takes credentials from its default chain (the container endpoint, when
// AWS_CONTAINER_CREDENTIALS_FULL_URI is set) and signs GetCallerIdentity at the STS endpoint in argv[2].
// It prints {"Arn": …}. Built offline in GOPATH mode by tests/support/go_consumer.ts.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	awsv1 "github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/session"
	stsv1 "github.com/aws/aws-sdk-go/service/sts"
	"github.com/aws/aws-sdk-go-v2/config"
	stsv2 "github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go-consumer v1|v2 STS_URL")
		os.Exit(2)
	}
	var arn string
	var err error
	switch os.Args[1] {
	case "v1":
		arn, err = withV1(os.Args[2])
	case "v2":
		arn, err = withV2(os.Args[2])
	default:
		err = fmt.Errorf("unknown SDK %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, _ := json.Marshal(map[string]string{"Arn": arn})
	fmt.Println(string(out))
}

func withV1(endpoint string) (string, error) {
	sess, err := session.NewSession(&awsv1.Config{Region: awsv1.String("us-east-1"), Endpoint: awsv1.String(endpoint)})
	if err != nil {
		return "", err
	}
	out, err := stsv1.New(sess).GetCallerIdentity(&stsv1.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return *out.Arn, nil
}

func withV2(endpoint string) (string, error) {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		return "", err
	}
	client := stsv2.NewFromConfig(cfg, func(o *stsv2.Options) {
		o.EndpointResolver = stsv2.EndpointResolverFromURL(endpoint)
	})
	out, err := client.GetCallerIdentity(ctx, &stsv2.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return *out.Arn, nil
}
